package dev.sluice.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one pipeline: one thread per producer that sends as fast as it can with a bounded number of
 * sends in flight, a sampler reading the backlog every 10 ms, a warm-up, then the measured period,
 * with the CPU of this JVM and of the broker read at both ends of it. Every loop ends by itself.
 */
final class Driver {
  private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final int MAX_PLOTTED_SAMPLES = 600;

  private final Settings s;
  private final Progress progress;

  Driver(Settings s, Progress progress) {
    this.s = s;
    this.progress = progress;
  }

  /** Starts {@code p}, warms it up for {@code warmupSeconds}, measures for {@code seconds}. */
  Result run(Pipeline p, int warmupSeconds, int seconds) throws Exception {
    Stats stats = new Stats();
    progress.say(p.name() + ": starting");
    try {
      p.start(stats);
      return measure(p, stats, warmupSeconds, seconds);
    } finally {
      progress.update(p.name(), "closing", 0, 0, 0);
      p.close();
      progress.done();
    }
  }

  private List<Long> serverPids(Pipeline p) {
    return p.broker().equals("rabbitmq") ? s.rabbitmqPids() : s.serverPids();
  }

  private Result measure(Pipeline p, Stats stats, int warmupSeconds, int seconds) throws Exception {
    int producers = p.producers();
    AtomicBoolean producing = new AtomicBoolean(true);
    AtomicBoolean sampling = new AtomicBoolean(true);
    AtomicBoolean measuring = new AtomicBoolean();
    Semaphore[] inFlight = new Semaphore[producers];
    AtomicLongArray sent = new AtomicLongArray(producers);
    AtomicLong failed = new AtomicLong();
    AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    AtomicLong lastBacklog = new AtomicLong();
    AtomicLong maxWindow = new AtomicLong(-1);
    AtomicLong maxExcess = new AtomicLong(Long.MIN_VALUE);
    List<long[]> samples = new ArrayList<>(); // {nanos, backlog}; sampler thread only until joined
    long slack = s.tokenBatch() - 1L;
    int outstanding =
        p.broker().equals("rabbitmq") ? s.rabbitmqConfirmWindow() : p.outstanding(s.outstanding());

    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < producers; i++) {
      int me = i;
      inFlight[i] = new Semaphore(outstanding);
      threads.add(
          new Thread(
              () -> produce(p, me, producing, inFlight[me], sent, failed, firstFailure),
              "bench-producer-" + i));
    }
    Thread sampler =
        new Thread(
            () -> {
              long next = System.nanoTime();
              while (sampling.get()) {
                try {
                  long w = p.window();
                  long b = p.backlog();
                  lastBacklog.set(b);
                  if (measuring.get()) {
                    if (w >= 0) {
                      // PROTOCOL.md §5.6 at this instant: B <= W + slack, W as advertised now.
                      maxWindow.accumulateAndGet(w, Math::max);
                      maxExcess.accumulateAndGet(b - (w + slack), Math::max);
                    }
                    samples.add(new long[] {System.nanoTime(), b});
                  }
                } catch (Exception e) {
                  firstFailure.compareAndSet(null, e);
                }
                next += SAMPLE_NANOS;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                  try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                  } catch (InterruptedException e) {
                    return;
                  }
                } else {
                  next = System.nanoTime(); // a slow reading: do not try to catch up
                }
              }
            },
            "bench-sampler");
    threads.add(sampler);
    threads.forEach(t -> t.setDaemon(true));
    CpuMeter cpu = new CpuMeter(serverPids(p));
    long t0 = System.nanoTime();
    threads.forEach(Thread::start);
    try {
      watch(p, stats, lastBacklog, "warm-up", t0, t0 + TimeUnit.SECONDS.toNanos(warmupSeconds));
      long settleSeconds = settleJit(p, stats, lastBacklog, warmupSeconds);

      p.measureStarted();
      long h0 = stats.handledCount();
      long[] s0 = snapshot(sent);
      stats.measure(true);
      cpu.start();
      measuring.set(true);
      long jit0 = JitClock.millis();
      long gc0 = JitClock.gcMillis();
      long m0 = System.nanoTime();
      watch(p, stats, lastBacklog, "measure", m0, m0 + TimeUnit.SECONDS.toNanos(seconds));
      long m1 = System.nanoTime();
      long jit1 = JitClock.millis();
      long gc1 = JitClock.gcMillis();
      measuring.set(false);
      CpuMeter.Usage used = cpu.stop();
      stats.measure(false);
      long h1 = stats.handledCount();
      long[] s1 = snapshot(sent);
      p.measureEnded();

      producing.set(false);
      for (int i = 0; i < producers; i++) {
        threads.get(i).join(10_000);
      }
      // Let the sends in flight settle (Sluice's wait for credits the workers return).
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!settled(inFlight, outstanding) && System.nanoTime() < until) {
        progress.update(p.name(), "settle", (System.nanoTime() - m1) / 1e9, 0, lastBacklog.get());
        Thread.sleep(50);
      }
      sampling.set(false);
      sampler.join(10_000);
      if (firstFailure.get() != null) {
        progress.say(
            p.name() + ": " + failed.get() + " sends failed; first: " + firstFailure.get());
      }
      Map<String, Object> extras = new LinkedHashMap<>(p.extras());
      if (used.allocatedBytes() >= 0 && h1 > h0) {
        extras.put("alloc_bytes_per_msg", used.allocatedBytes() / (h1 - h0));
      }
      extras.put("jit_settle_s", settleSeconds);
      if (jit0 >= 0) {
        extras.put("jit_ms_per_s", (jit1 - jit0) / ((m1 - m0) / 1e9));
      }
      if (gc0 >= 0) {
        extras.put("gc_ms_per_s", (gc1 - gc0) / ((m1 - m0) / 1e9));
      }
      if (stats.fromPublishMs(50) >= 0) {
        extras.put("p50_from_publish_ms", stats.fromPublishMs(50));
        extras.put("p99_from_publish_ms", stats.fromPublishMs(99));
      }
      if (maxWindow.get() >= 0) {
        extras.put("window", maxWindow.get());
        extras.put("max_excess", maxExcess.get());
      }
      double secs = (m1 - m0) / 1e9;
      long handled = h1 - h0;
      List<Long> perProducer = new ArrayList<>();
      long sentTotal = 0;
      for (int i = 0; i < producers; i++) {
        perProducer.add(s1[i] - s0[i]);
        sentTotal += s1[i] - s0[i];
      }
      long max = 0;
      long sum = 0;
      for (long[] x : samples) {
        max = Math.max(max, x[1]);
        sum += x[1];
      }
      return new Result(
          p.name(),
          secs,
          handled,
          sentTotal,
          failed.get(),
          handled / secs,
          max,
          samples.isEmpty() ? 0 : (double) sum / samples.size(),
          samples.size(),
          stats.percentileMs(50),
          stats.percentileMs(99),
          stats.percentileMs(99.9),
          CpuMeter.Usage.perMsg(used.jvmMicros(), handled),
          CpuMeter.Usage.perMsg(used.serverMicros(), handled),
          perProducer,
          thin(samples, m0),
          extras);
    } finally {
      producing.set(false);
      sampling.set(false);
      for (Thread t : threads) {
        t.join(10_000);
      }
    }
  }

  private void produce(
      Pipeline p,
      int me,
      AtomicBoolean producing,
      Semaphore inFlight,
      AtomicLongArray sent,
      AtomicLong failed,
      AtomicReference<Throwable> firstFailure) {
    while (producing.get()) {
      try {
        if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
          continue;
        }
      } catch (InterruptedException e) {
        return;
      }
      CompletableFuture<?> f;
      try {
        f = p.send(me, Stats.payload(s.payloadBytes()));
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete(
          (r, e) -> {
            inFlight.release();
            if (e == null) {
              sent.incrementAndGet(me);
            } else {
              failed.incrementAndGet();
              firstFailure.compareAndSet(null, e);
            }
          });
    }
  }

  /**
   * Warms up on after the fixed warm-up until the JIT compilers have been quiet for two seconds
   * running ({@link JitClock}), for at most as long again as the warm-up: on two shared cores a
   * fixed warm-up can end with the compilers still busy, and what they do in a measured pass is
   * charged to the pipeline. Returns the seconds added.
   */
  private long settleJit(Pipeline p, Stats stats, AtomicLong backlog, int warmupSeconds)
      throws InterruptedException {
    long start = System.nanoTime();
    long before = Long.MAX_VALUE;
    long mark = JitClock.millis();
    if (mark < 0) {
      return 0;
    }
    for (int i = 0; i < warmupSeconds; i++) {
      long now = System.nanoTime();
      watch(p, stats, backlog, "jit-settle", start, now + TimeUnit.SECONDS.toNanos(1));
      long next = JitClock.millis();
      long last = next - mark;
      mark = next;
      if (JitClock.settled(before, last)) {
        break;
      }
      before = last;
    }
    return Math.round((System.nanoTime() - start) / 1e9);
  }

  private static boolean settled(Semaphore[] inFlight, int outstanding) {
    for (Semaphore sem : inFlight) {
      if (sem.availablePermits() < outstanding) {
        return false;
      }
    }
    return true;
  }

  private static long[] snapshot(AtomicLongArray a) {
    long[] out = new long[a.length()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i);
    }
    return out;
  }

  /** At most {@value #MAX_PLOTTED_SAMPLES} samples, keeping each stride's largest backlog. */
  static List<Result.Sample> thin(List<long[]> samples, long start) {
    int stride = Math.max(1, (samples.size() + MAX_PLOTTED_SAMPLES - 1) / MAX_PLOTTED_SAMPLES);
    List<Result.Sample> out = new ArrayList<>();
    for (int i = 0; i < samples.size(); i += stride) {
      long[] peak = samples.get(i);
      for (int j = i; j < Math.min(samples.size(), i + stride); j++) {
        if (samples.get(j)[1] > peak[1]) {
          peak = samples.get(j);
        }
      }
      out.add(new Result.Sample((peak[0] - start) / 1e9, peak[1]));
    }
    return out;
  }

  /** Waits until {@code end}, refreshing the progress line twice a second. */
  private void watch(
      Pipeline p, Stats stats, AtomicLong backlog, String phase, long start, long end)
      throws InterruptedException {
    long lastHandled = stats.handledCount();
    long last = System.nanoTime();
    while (true) {
      long now = System.nanoTime();
      if (now >= end) {
        return;
      }
      Thread.sleep(Math.min(500, Math.max(1, (end - now) / 1_000_000)));
      now = System.nanoTime();
      long h = stats.handledCount();
      double rate = (h - lastHandled) / Math.max(1e-9, (now - last) / 1e9);
      lastHandled = h;
      last = now;
      progress.update(p.name(), phase, (now - start) / 1e9, rate, backlog.get());
    }
  }
}
