package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.SluiceHeaders;
import dev.sluice.Worker;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.impl.Headers;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code memory}: the heap of a Sluice worker that starts in front of a large backlog. The backlog
 * ({@code --backlog}, default 1,000,000) is published raw (jnats, Sluice's headers, no credits),
 * the heap is collected, then the worker (slow-workers settings) runs for {@code --seconds} while
 * the used heap is sampled every 50 ms; a full collection at the end gives what the worker keeps.
 * The worker runs in this JVM, which {@code scripts/bench memory} starts with {@code -Xmx128m} (the
 * target): a worker that buffered the backlog would fail with an OutOfMemoryError or spend its time
 * collecting ({@code gc_ms}). The figures are this JVM's heap, the publisher's garbage collected
 * before the worker starts.
 */
final class Memory {
  static final long TARGET_MB = 128;
  private static final double MB = 1024.0 * 1024.0;

  private final Settings s;
  private final Progress progress;
  private final String queue;

  Memory(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.queue = "bench-mem-" + id;
  }

  int run() throws Exception {
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    try (Connection monitor = Pipeline.connect(s.server(), "bench-mem-monitor");
        Connection pc = Pipeline.connect(s.server(), "bench-mem-publisher");
        Connection wc = Pipeline.connect(s.server(), "bench-mem-worker")) {
      Sluice sluice = Sluice.using(monitor);
      sluice.provision(
          QueueSpec.builder(queue)
              .tokenBatch(s.tokenBatch())
              .hardLimit(s.backlog() + 100_000L)
              .build());
      long published = publishRaw(pc.jetStream());
      progress.say(String.format(Locale.ROOT, "memory: %d messages stored", sluice.backlog(queue)));
      System.gc();
      long baseline = mem.getHeapMemoryUsage().getUsed();
      AtomicLong handled = new AtomicLong();
      Worker worker =
          Sluice.using(wc)
              .worker(queue)
              .handle(
                  SluicePipeline.CODEC,
                  (payload, ctx) -> {
                    Stats.work(s.workMicros());
                    handled.incrementAndGet();
                  })
              .concurrency(s.concurrency())
              .prefetch(s.prefetch())
              .heartbeat(Duration.ofMillis(s.heartbeatMs()))
              .advertTtl(Duration.ofMillis(4L * s.heartbeatMs()))
              .start();
      long peak = 0;
      long gc0 = gcMillis();
      long t0 = System.nanoTime();
      long end = t0 + TimeUnit.SECONDS.toNanos(s.seconds());
      long next = 0;
      while (System.nanoTime() < end) {
        peak = Math.max(peak, mem.getHeapMemoryUsage().getUsed());
        if (System.nanoTime() >= next) {
          next = System.nanoTime() + 500_000_000L;
          progress.update(
              "worker", "measure", (System.nanoTime() - t0) / 1e9, 0, published - handled.get());
        }
        Thread.sleep(50);
      }
      progress.done();
      gcMs = gcMillis() - gc0;
      System.gc();
      long afterGc = mem.getHeapMemoryUsage().getUsed();
      long left = sluice.backlog(queue);
      long max = mem.getHeapMemoryUsage().getMax();
      worker.close();
      deleteQueueStream(monitor.jetStreamManagement());
      report(published, handled.get(), left, baseline, peak, afterGc, max);
      return 0;
    }
  }

  private long gcMs;

  /** Collection time of every collector so far (ms); the worker's share is taken as a delta. */
  private static long gcMillis() {
    return ManagementFactory.getGarbageCollectorMXBeans().stream()
        .mapToLong(b -> Math.max(0, b.getCollectionTime()))
        .sum();
  }

  private long publishRaw(JetStream js) throws InterruptedException {
    Semaphore inFlight = new Semaphore(1000);
    AtomicLong failed = new AtomicLong();
    String subject = "sluice.q." + queue;
    long t0 = System.nanoTime();
    long next = 0;
    for (int i = 0; i < s.backlog(); i++) {
      inFlight.acquire();
      Headers h = new Headers();
      h.put(SluiceHeaders.MSG_ID, queue + "-" + i);
      h.put(SluiceHeaders.PROTOCOL, "1");
      h.put(SluiceHeaders.TYPE, SluicePipeline.TYPE);
      h.put(SluiceHeaders.TYPE_VERSION, "1");
      h.put(SluiceHeaders.CONTENT_TYPE, SluicePipeline.CONTENT_TYPE);
      js.publishAsync(subject, h, Stats.payload(s.payloadBytes()))
          .whenComplete(
              (ack, e) -> {
                inFlight.release();
                if (e != null) {
                  failed.incrementAndGet();
                }
              });
      if (System.nanoTime() >= next) {
        next = System.nanoTime() + 500_000_000L;
        double secs = (System.nanoTime() - t0) / 1e9;
        progress.update("raw", "publish", secs, i / Math.max(1e-9, secs), i);
      }
    }
    inFlight.acquire(1000);
    progress.done();
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " raw publishes failed");
    }
    return s.backlog();
  }

  private void deleteQueueStream(JetStreamManagement jsm) {
    try {
      for (String name : jsm.getStreamNames("sluice.q." + queue)) {
        jsm.deleteStream(name); // the backlog left is large: free the server's disk
      }
    } catch (Exception e) {
      System.err.println("bench: could not delete the stream of " + queue + ": " + e);
    }
  }

  static ObjectNode json(
      long backlog, long handled, long left, long baseline, long peak, long afterGc, long max) {
    ObjectNode o = Json.object();
    o.put("backlog", backlog);
    o.put("handled", handled);
    o.put("backlog_left", left);
    o.put("heap_baseline_mb", Json.round(baseline / MB, 1));
    o.put("heap_peak_mb", Json.round(peak / MB, 1));
    o.put("heap_after_gc_mb", Json.round(afterGc / MB, 1));
    o.put("worker_retained_mb", Json.round((afterGc - baseline) / MB, 1));
    o.put("heap_max_mb", Json.round(max / MB, 1));
    return o;
  }

  private void report(
      long published, long handled, long left, long baseline, long peak, long afterGc, long max) {
    double load = Json.loadAverage();
    PrintStream out = s.json() ? System.err : System.out;
    out.printf(
        Locale.ROOT,
        "memory: backlog %d published raw; worker (%d threads x %d us, window %d) ran %d s and"
            + " handled %d, %d left%n"
            + "heap used: before the worker %.1f MB, peak %.1f MB (target <= %d MB: %s),"
            + " after a full GC %.1f MB (worker keeps %.1f MB); -Xmx %.0f MB; GC %d ms in %d s;"
            + " load average %.2f%n",
        published,
        s.concurrency(),
        s.workMicros(),
        s.concurrency() + s.prefetch(),
        s.seconds(),
        handled,
        left,
        baseline / MB,
        peak / MB,
        TARGET_MB,
        Comparison.verdict(peak / MB <= TARGET_MB),
        afterGc / MB,
        (afterGc - baseline) / MB,
        max / MB,
        gcMs,
        s.seconds(),
        load);
    Charts charts = new Charts(s.out());
    Map<String, Double> bars = new LinkedHashMap<>();
    bars.put("before worker", Math.round(baseline / MB * 10) / 10.0);
    bars.put("peak", Math.round(peak / MB * 10) / 10.0);
    bars.put("after full GC", Math.round(afterGc / MB * 10) / 10.0);
    charts.bars(
        "memory-heap",
        String.format(Locale.ROOT, "memory: heap used with a backlog of %,d", published),
        "MB",
        bars);
    out.println("charts: " + charts.written());
    if (s.json()) {
      ObjectNode o = json(published, handled, left, baseline, peak, afterGc, max);
      o.put("gc_ms", gcMs);
      o.put("load_average", Json.round(load, 2));
      System.out.println(Json.line(o));
    }
  }
}
