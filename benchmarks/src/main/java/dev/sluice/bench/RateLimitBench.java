package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code scripts/bench rate-limit}: a queue limited to 500 messages per second (burst 100), four
 * workers whose capacity is far above it and two producers that could send far more, for 30 s
 * (PROTOCOL.md §15.2, docs/CONTROL.md). Reports the rate the handlers saw against the limit and the
 * busiest one-second window (sliding, in 10 ms steps) from the very first message on, against limit
 * + burst.
 */
final class RateLimitBench {
  static final double LIMIT = 500;
  static final int BURST = 100;
  static final int WORKERS = 4;
  static final int PRODUCERS = 2;
  static final int IN_FLIGHT = 500; // sends each producer keeps waiting: demand far above the rate
  static final int WARMUP_S = 3; // from the first message: shares and windows settle
  static final int BIN_MS = 10;
  static final Codec<String> JOB = Codec.utf8("bench.Rated", 1);

  private final Settings s;
  private final Progress progress;
  private final String queue;
  private final int seconds;

  RateLimitBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.queue = "rate-" + id;
    this.seconds = s.secondsOr(30);
  }

  int run() throws Exception {
    int total = (WARMUP_S + seconds + 5) * 1000 / BIN_MS;
    AtomicLongArray bins = new AtomicLongArray(total);
    long[] start = {0};
    List<Connection> conns = new ArrayList<>();
    List<Worker> workers = new ArrayList<>();
    List<QueueProducer> producers = new ArrayList<>();
    AtomicBoolean producing = new AtomicBoolean(true);
    List<Thread> senders = new ArrayList<>();
    try (Connection nc = Pipeline.connect(s.server(), "bench-rate-limit")) {
      Sluice.using(nc).provision(QueueSpec.builder(queue).rateLimit(LIMIT, BURST).build());
      long t0 = System.nanoTime();
      start[0] = t0;
      java.util.concurrent.atomic.AtomicLongArray perWorker =
          new java.util.concurrent.atomic.AtomicLongArray(WORKERS);
      for (int i = 0; i < WORKERS; i++) {
        final int wi = i;
        Connection c = Pipeline.connect(s.server(), "bench-rate-worker-" + i);
        conns.add(c);
        workers.add(
            Sluice.using(c)
                .worker(queue)
                .handle(
                    JOB,
                    (v, ctx) -> {
                      int bin = (int) ((System.nanoTime() - t0) / 1_000_000L / BIN_MS);
                      if (bin < total) {
                        bins.incrementAndGet(bin);
                      }
                      perWorker.incrementAndGet(wi);
                    })
                .concurrency(8)
                .prefetch(24) // capacity 32 each: 128 in all, far above what 500/s needs
                .start());
      }
      for (int i = 0; i < PRODUCERS; i++) {
        Connection c = Pipeline.connect(s.server(), "bench-rate-producer-" + i);
        conns.add(c);
        QueueProducer p = Sluice.using(c).producer(queue).build();
        producers.add(p);
        Thread t = new Thread(() -> saturate(p, producing), "bench-rate-send-" + i);
        senders.add(t);
        t.start();
      }
      // The clock of the measurement starts at the first handled message.
      int first = -1;
      while (first < 0 && (System.nanoTime() - t0) < 30_000_000_000L) {
        Thread.sleep(50);
        for (int b = 0; b < total; b++) {
          if (bins.get(b) > 0) {
            first = b;
            break;
          }
        }
      }
      if (first < 0) {
        throw new IllegalStateException("no message was handled within 30 s");
      }
      int end = first + (WARMUP_S + seconds) * 1000 / BIN_MS;
      long lastPrint = 0;
      Sluice sluice = Sluice.using(nc);
      java.time.Instant lastAudit = java.time.Instant.EPOCH;
      long mints = 0;
      long burns = 0;
      long maxDebt = 0;
      while (true) {
        long nowBin = (System.nanoTime() - t0) / 1_000_000L / BIN_MS;
        if (nowBin >= end + 1) {
          break;
        }
        if (System.nanoTime() - lastPrint > 1_000_000_000L) {
          lastPrint = System.nanoTime();
          long last = 0;
          for (long b = Math.max(0, nowBin - 100); b < nowBin && b < total; b++) {
            last += bins.get((int) b);
          }
          progress.update(
              "sluice",
              nowBin < first + WARMUP_S * 1000 / BIN_MS ? "warm-up" : "measure",
              (nowBin - first) * BIN_MS / 1000.0,
              last,
              0);
        }
        // The reconciler's corrections: a rate-limited queue should need none in steady state.
        var in = sluice.inspect(queue);
        maxDebt = Math.max(maxDebt, in.debt());
        var audit = in.reconciler().flatMap(dev.sluice.ReconcilerLease::lastAudit).orElse(null);
        if (audit != null && audit.at().isAfter(lastAudit)) {
          lastAudit = audit.at();
          if (audit.minted() > 0 || audit.burned() > 0 || in.debt() > 0) {
            mints += audit.minted();
            burns += audit.burned();
            progress.say(
                String.format(
                    java.util.Locale.ROOT,
                    "t=%.1fs audit: W=%d B=%d T=%d S=%d O=%d d=%d minted=%d burned=%d debt=%d",
                    (nowBin - first) * BIN_MS / 1000.0,
                    audit.window(),
                    audit.backlog(),
                    audit.tokens(),
                    audit.heldSpent(),
                    audit.owed(),
                    audit.deficit(),
                    audit.minted(),
                    audit.burned(),
                    in.debt()));
          }
        }
        Thread.sleep(100);
      }
      progress.done();
      producing.set(false);
      long[] counts = new long[end - first];
      for (int b = first; b < end; b++) {
        counts[b - first] = bins.get(b);
      }
      int warm = WARMUP_S * 1000 / BIN_MS;
      long measured = 0;
      for (int b = warm; b < counts.length; b++) {
        measured += counts[b];
      }
      double observed = measured / (double) seconds;
      long max1s = 0;
      long window = 0;
      int per = 1000 / BIN_MS;
      for (int b = 0; b < counts.length; b++) {
        window += counts[b];
        if (b >= per) {
          window -= counts[b - per];
        }
        max1s = Math.max(max1s, window);
      }
      double[] perSecond = new double[counts.length / per];
      for (int sec = 0; sec < perSecond.length; sec++) {
        for (int b = sec * per; b < (sec + 1) * per; b++) {
          perSecond[sec] += counts[b];
        }
      }
      new RateChart(s.out())
          .rate(
              "control-rate-limit-rate",
              String.format(
                  java.util.Locale.ROOT,
                  "rate limit %.0f/s (burst %d): %d workers, %d producers",
                  LIMIT,
                  BURST,
                  WORKERS,
                  PRODUCERS),
              perSecond,
              LIMIT,
              LIMIT + BURST,
              WARMUP_S);
      double error = Math.abs(observed - LIMIT) / LIMIT;
      ObjectNode o = Json.object();
      o.put("benchmark", "rate-limit");
      o.put("limit", LIMIT);
      o.put("burst", BURST);
      o.put("observed_rate", Json.round(observed, 1));
      o.put("max_1s_rate", max1s);
      o.put("error", Json.round(error, 4));
      o.put("seconds", seconds);
      o.put("workers", WORKERS);
      o.put("producers", PRODUCERS);
      o.put("error_target_met", error <= 0.05);
      o.put("burst_target_met", max1s <= LIMIT + BURST);
      // How evenly the messages reached the workers: each mints at most a quarter of the rate, so
      // a worker that got fewer leaves part of the rate unused.
      var handledBy = o.putArray("handled_per_worker");
      for (int i = 0; i < WORKERS; i++) {
        handledBy.add(perWorker.get(i));
      }
      o.put("reconciler_minted", mints);
      o.put("reconciler_burned", burns);
      o.put("max_debt", maxDebt);
      o.put("load_average", Json.loadAverage());
      progress.say(
          String.format(
              java.util.Locale.ROOT,
              "observed %.1f/s against %.0f/s (error %.3f, target <= 0.05); busiest 1 s window %d"
                  + " (limit + burst %.0f)",
              observed,
              LIMIT,
              error,
              max1s,
              LIMIT + BURST));
      System.out.println(Json.line(o));
      return 0;
    } finally {
      producing.set(false);
      for (Thread t : senders) {
        t.join(10_000);
      }
      for (QueueProducer p : producers) {
        p.close();
      }
      for (Worker w : workers) {
        w.close();
      }
      for (Connection c : conns) {
        c.close();
      }
    }
  }

  /** Keeps {@link #IN_FLIGHT} sends waiting for credits until told to stop. */
  private static void saturate(QueueProducer p, AtomicBoolean producing) {
    Semaphore room = new Semaphore(IN_FLIGHT);
    int n = 0;
    while (producing.get()) {
      try {
        if (!room.tryAcquire(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
          continue;
        }
      } catch (InterruptedException e) {
        return;
      }
      CompletableFuture<SendResult> f = p.sendAsync(OutgoingMessage.of(JOB, "m" + n++));
      f.whenComplete((r, e) -> room.release());
    }
  }
}
