package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import io.nats.client.Connection;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;

/**
 * {@code grant-latency}: how soon a producer waiting for credit publishes after a worker finishes a
 * message (PROTOCOL.md's I2). One worker with one handler thread and prefetch 1 (window 2), token
 * batch 1, handlers slower than a publish; one producer sending synchronously, so every send past
 * the first window waits for the credit of the message {@code window} places before it. The latency
 * of message {@code i} is the PubAck of send {@code i + window} minus the end of the handler of
 * message {@code i}: it includes the ack, its confirmation, the mint, the token's delivery, the
 * publish and its PubAck, so it is an upper bound by one publish round trip.
 */
final class GrantLatency {
  static final double P99_TARGET_MS = 5;
  private static final int MAX_MESSAGES = 1 << 20;

  private final Settings s;
  private final Progress progress;
  private final String queue;

  GrantLatency(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.queue = "bench-grant-" + id;
  }

  /** The handler's finishing instant of message {@code i} is in {@code finished[i]}. */
  static Histogram pair(AtomicLongArray finished, long[] pubAcked, long first, long last, int w) {
    Histogram h = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    for (long i = first; i + w <= last; i++) {
      long f = finished.get((int) i);
      long p = pubAcked[(int) (i + w)];
      if (f > 0 && p > 0 && p >= f) {
        h.recordValue(Math.min(h.getHighestTrackableValue(), (p - f) / 1000));
      }
    }
    return h;
  }

  int run() throws Exception {
    AtomicLongArray finished = new AtomicLongArray(MAX_MESSAGES);
    long[] pubAcked = new long[MAX_MESSAGES];
    GrantHops[] tapped = new GrantHops[1]; // set once the tap subscribed
    try (Connection monitor = Pipeline.connect(s.server(), "bench-grant-monitor");
        Connection wc =
            Pipeline.connect(
                s.server(), "bench-grant-worker", s.hops() ? GrantHops.workerReads(tapped) : null);
        Connection pc =
            Pipeline.connect(
                s.server(),
                "bench-grant-producer",
                s.hops() ? GrantHops.producerReads(tapped, SluicePipeline.CREDIT_STREAM) : null);
        Connection tc = s.hops() ? Pipeline.connect(s.server(), "bench-grant-tap") : null) {
      GrantHops hops = tc == null ? null : new GrantHops(tc, queue, SluicePipeline.CREDIT_STREAM);
      tapped[0] = hops;
      Sluice sluice = Sluice.using(monitor);
      sluice.provision(QueueSpec.builder(queue).tokenBatch(s.tokenBatch()).build());
      Worker worker =
          Sluice.using(wc)
              .worker(queue)
              .handle(
                  SluicePipeline.CODEC,
                  (payload, ctx) -> {
                    Stats.work(s.workMicros());
                    finished.set((int) ByteBuffer.wrap(payload).getLong(8), System.nanoTime());
                  })
              .concurrency(1)
              .prefetch(1)
              .heartbeat(Duration.ofMillis(s.heartbeatMs()))
              .advertTtl(Duration.ofMillis(4L * s.heartbeatMs()))
              .start();
      int w = worker.advertisedCapacity();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (sluice.inspect(queue).tokens() < w) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the reconciler did not mint the window in 30 s");
        }
        Thread.sleep(50);
      }
      long first;
      long last;
      try (QueueProducer producer =
          Sluice.using(pc).producer(queue).acquireTimeout(Duration.ofSeconds(30)).build()) {
        long t0 = System.nanoTime();
        long measureAt = t0 + TimeUnit.SECONDS.toNanos(s.warmupSeconds());
        long end = measureAt + TimeUnit.SECONDS.toNanos(s.seconds());
        long i = 0;
        first = -1;
        long nextProgress = 0;
        while (System.nanoTime() < end && i < MAX_MESSAGES) {
          byte[] payload = new byte[Math.max(16, s.payloadBytes())];
          ByteBuffer.wrap(payload).putLong(System.nanoTime()).putLong(i);
          producer.send(
              OutgoingMessage.builder(SluicePipeline.TYPE, 1, payload)
                  .contentType(SluicePipeline.CONTENT_TYPE)
                  .build());
          long now = System.nanoTime();
          pubAcked[(int) i] = now;
          if (first < 0 && now >= measureAt) {
            first = i;
          }
          if (now >= nextProgress) {
            nextProgress = now + 500_000_000L;
            progress.update("grant", first < 0 ? "warm-up" : "measure", (now - t0) / 1e9, 0, i);
          }
          i++;
        }
        last = i - 1;
        progress.done();
        // The last window's messages are still in the queue: let the worker finish them.
        long drain = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (finished.get((int) last) == 0 && System.nanoTime() < drain) {
          Thread.sleep(10);
        }
      }
      worker.close();
      if (first < 0) {
        throw new IllegalStateException("no message was sent in the measured period");
      }
      Histogram h = pair(finished, pubAcked, first, last, w);
      GrantHops.Split split = null;
      if (hops != null) {
        hops.sync();
        hops.close();
        split = GrantHops.split(hops.pairs(finished, pubAcked, first, last, w));
      }
      report(h, w, last - first + 1, split);
      return 0;
    }
  }

  private void report(Histogram h, int w, long sent, GrantHops.Split split) {
    double load = Json.loadAverage();
    double p50 = h.getValueAtPercentile(50) / 1000.0;
    double p99 = h.getValueAtPercentile(99) / 1000.0;
    double p999 = h.getValueAtPercentile(99.9) / 1000.0;
    double max = h.getMaxValue() / 1000.0;
    PrintStream out = s.json() ? System.err : System.out;
    out.printf(
        Locale.ROOT,
        "grant-latency: worker finishes -> waiting producer's next PubAck, window %d, token batch"
            + " %d, %d us handlers; %d sends measured, %d paired%n"
            + "p50 %.3f ms, p99 %.3f ms (target <= %.0f ms: %s), p99.9 %.3f ms, max %.3f ms;"
            + " load average %.2f%n",
        w,
        s.tokenBatch(),
        s.workMicros(),
        sent,
        h.getTotalCount(),
        p50,
        p99,
        P99_TARGET_MS,
        Comparison.verdict(p99 <= P99_TARGET_MS),
        p999,
        max,
        load);
    if (split != null) {
      out.print(split.describe());
    }
    Charts charts = new Charts(s.out());
    Result asResult =
        new Result(
            "sluice",
            s.seconds(),
            h.getTotalCount(),
            sent,
            0,
            0,
            0,
            0,
            0,
            p50,
            p99,
            p999,
            -1,
            -1,
            java.util.List.of(),
            java.util.List.of(),
            Map.of());
    charts.percentiles(
        "grant-latency",
        "grant latency: worker finishes -> next publish",
        Map.of("Sluice", asResult));
    out.println("charts: " + charts.written());
    if (s.json()) {
      ObjectNode o = Json.object();
      o.put("p50_ms", Json.round(p50, 3));
      o.put("p99_ms", Json.round(p99, 3));
      o.put("p999_ms", Json.round(p999, 3));
      o.put("max_ms", Json.round(max, 3));
      o.put("samples", h.getTotalCount());
      o.put("window", w);
      o.put("token_batch", s.tokenBatch());
      o.put("work_us", s.workMicros());
      o.put("load_average", Json.round(load, 2));
      if (split != null) {
        o.set("hops", split.json());
      }
      System.out.println(Json.line(o));
    }
  }
}
