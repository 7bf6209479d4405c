package dev.sluice.bench;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one pipeline: a producer that sends as fast as it can with a bounded number of sends in
 * flight, a sampler reading the backlog every 10 ms, a warm-up, then the measured period. Every
 * loop ends by itself.
 */
final class Driver {
  private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final Settings s;
  private final Progress progress;

  Driver(Settings s, Progress progress) {
    this.s = s;
    this.progress = progress;
  }

  Result run(Pipeline p) throws Exception {
    Stats stats = new Stats();
    progress.say(p.name() + ": starting");
    try {
      p.start(stats);
      return measure(p, stats);
    } finally {
      progress.update(p.name(), "closing", 0, 0, 0);
      p.close();
      progress.done();
    }
  }

  private Result measure(Pipeline p, Stats stats) throws Exception {
    AtomicBoolean producing = new AtomicBoolean(true);
    AtomicBoolean sampling = new AtomicBoolean(true);
    AtomicBoolean measuring = new AtomicBoolean();
    Semaphore inFlight = new Semaphore(s.outstanding());
    AtomicLong sent = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    AtomicLong lastBacklog = new AtomicLong();
    AtomicLong maxBacklog = new AtomicLong();
    AtomicLong sumBacklog = new AtomicLong();
    AtomicLong samples = new AtomicLong();
    AtomicLong maxWindow = new AtomicLong(-1);
    AtomicLong maxExcess = new AtomicLong(Long.MIN_VALUE);
    long slack = s.tokenBatch() - 1;

    Thread producer =
        new Thread(
            () -> {
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
                  f = p.send(Stats.payload(s.payloadBytes()));
                } catch (RuntimeException e) {
                  f = CompletableFuture.failedFuture(e);
                }
                f.whenComplete(
                    (r, e) -> {
                      inFlight.release();
                      if (e == null) {
                        sent.incrementAndGet();
                      } else {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e);
                      }
                    });
              }
            },
            "bench-producer");
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
                    maxBacklog.accumulateAndGet(b, Math::max);
                    sumBacklog.addAndGet(b);
                    samples.incrementAndGet();
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
    producer.setDaemon(true);
    sampler.setDaemon(true);
    long t0 = System.nanoTime();
    producer.start();
    sampler.start();
    try {
      watch(p, stats, lastBacklog, "warm-up", t0, t0 + TimeUnit.SECONDS.toNanos(s.warmupSeconds()));

      p.measureStarted();
      long h0 = stats.handledCount();
      long s0 = sent.get();
      stats.measure(true);
      measuring.set(true);
      long m0 = System.nanoTime();
      watch(p, stats, lastBacklog, "measure", m0, m0 + TimeUnit.SECONDS.toNanos(s.seconds()));
      long m1 = System.nanoTime();
      measuring.set(false);
      stats.measure(false);
      long h1 = stats.handledCount();
      long s1 = sent.get();
      p.measureEnded();

      producing.set(false);
      producer.join(10_000);
      // Let the sends in flight settle (Sluice's wait for credits the workers return).
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (inFlight.availablePermits() < s.outstanding() && System.nanoTime() < until) {
        progress.update(p.name(), "settle", (System.nanoTime() - m1) / 1e9, 0, lastBacklog.get());
        Thread.sleep(50);
      }
      if (firstFailure.get() != null) {
        progress.say(
            p.name() + ": " + failed.get() + " sends failed; first: " + firstFailure.get());
      }
      java.util.Map<String, Object> extras = new java.util.LinkedHashMap<>(p.extras());
      if (maxWindow.get() >= 0) {
        extras.put("window", maxWindow.get());
        extras.put("max_excess", maxExcess.get());
      }
      double secs = (m1 - m0) / 1e9;
      long n = samples.get();
      return new Result(
          p.name(),
          secs,
          h1 - h0,
          s1 - s0,
          failed.get(),
          (h1 - h0) / secs,
          maxBacklog.get(),
          n == 0 ? 0 : (double) sumBacklog.get() / n,
          n,
          stats.percentileMs(50),
          stats.percentileMs(99),
          stats.percentileMs(99.9),
          extras);
    } finally {
      producing.set(false);
      sampling.set(false);
      producer.join(10_000);
      sampler.join(10_000);
    }
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
