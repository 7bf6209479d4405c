package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.ScheduledSend;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.api.KeyValueEntry;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * {@code scripts/bench scheduled}: 10,000 messages scheduled over 60 s plus a burst of 5,000 due in
 * one second, handled by workers slower than the burst, fired by one of two child JVMs; the one
 * that fires is killed with SIGKILL once. Reports early, lost and duplicate messages, lateness
 * (fired minus due; the spread messages outside the failover window, and the burst apart), the
 * failover time and the largest backlog against the window (docs/SCHEDULING.md).
 */
final class ScheduledBench {
  static final int SPREAD = 10_000;
  static final int BURST = 5_000;
  static final long SPREAD_MS = 60_000;
  static final long LEAD_MS = 8_000; // time to store every schedule before the first is due
  static final long BURST_AT_MS = 30_000;
  static final long KILL_AT_MS = 15_000;
  static final int TOKEN_BATCH = 16; // as slow-workers: a credit pull brings 16
  static final Codec<String> JOB = Codec.utf8("bench.Scheduled", 1);

  private final Settings s;
  private final Progress progress;
  private final String queue;

  /** What the handler saw of one message. */
  record Seen(long firedMs, String firer, int count) {}

  ScheduledBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.queue = "sched-" + id;
  }

  int run() throws Exception {
    try (Connection nc = Pipeline.connect(s.server(), "bench-scheduled")) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(queue).tokenBatch(TOKEN_BATCH).build());
      long t0 = System.currentTimeMillis() + LEAD_MS;
      Map<String, Long> due = new ConcurrentHashMap<>();
      progress.say("storing " + (SPREAD + BURST) + " schedules");
      try (QueueProducer p = sluice.producer(queue).build()) {
        List<CompletableFuture<ScheduledSend>> fs = new ArrayList<>();
        for (int i = 0; i < SPREAD; i++) {
          long at = t0 + i * SPREAD_MS / SPREAD;
          OutgoingMessage m =
              OutgoingMessage.builder(JOB.type(), 1, "s".getBytes(StandardCharsets.UTF_8))
                  .messageId("spread-" + i)
                  .build();
          due.put(m.messageId(), at);
          fs.add(p.sendAtAsync(m, Instant.ofEpochMilli(at)));
        }
        for (int i = 0; i < BURST; i++) {
          long at = t0 + BURST_AT_MS + (i % 1000);
          OutgoingMessage m =
              OutgoingMessage.builder(JOB.type(), 1, "b".getBytes(StandardCharsets.UTF_8))
                  .messageId("burst-" + i)
                  .build();
          due.put(m.messageId(), at);
          fs.add(p.sendAtAsync(m, Instant.ofEpochMilli(at)));
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
      }
      long storedAt = System.currentTimeMillis();
      progress.say("stored in " + (storedAt - (t0 - LEAD_MS)) + " ms; starting workers and firers");

      Map<String, Seen> seen = new ConcurrentHashMap<>();
      AtomicLong handled = new AtomicLong();
      Process a = firer("firer-a");
      Process b = firer("firer-b");
      AtomicLong maxBacklog = new AtomicLong();
      AtomicBoolean sampling = new AtomicBoolean(true);
      try (Worker w =
          sluice
              .worker(queue)
              .handle(
                  JOB,
                  (v, ctx) -> {
                    Thread.sleep(1); // 8 threads: a few thousand a second, slower than the burst
                    long fired = Long.parseLong(ctx.headers().get("Sluice-Sent-At"));
                    String firer = ctx.headers().get("Sluice-Producer");
                    seen.merge(
                        ctx.messageId(),
                        new Seen(fired, firer, 1),
                        (x, y) -> new Seen(x.firedMs(), x.firer(), x.count() + 1));
                    handled.incrementAndGet();
                  })
              .concurrency(8)
              // A window of 192, as slow-workers: ~35 ms of queue at this machine's rate, deep
              // enough that credits circulating do not starve the 8 handlers.
              .prefetch(184)
              .start()) {
        Thread sampler =
            new Thread(
                () -> {
                  while (sampling.get()) {
                    try {
                      maxBacklog.accumulateAndGet(sluice.backlog(queue), Math::max);
                      Thread.sleep(5);
                    } catch (InterruptedException e) {
                      return;
                    } catch (RuntimeException e) {
                      // a sample lost to a slow reply
                    }
                  }
                });
        sampler.setDaemon(true);
        sampler.start();

        // Kill the firing process once, mid-spread, before the burst.
        sleepUntil(t0 + KILL_AT_MS);
        String holder = holder(nc);
        Process victim = "firer-b".equals(holder) ? b : a;
        String survivor = victim == a ? "firer-b" : "firer-a";
        long killedAt = System.currentTimeMillis();
        victim.destroyForcibly(); // SIGKILL
        victim.waitFor();
        progress.say("killed " + holder + " (kill -9) at t0+" + (killedAt - t0) + " ms");

        long deadline = t0 + SPREAD_MS + 120_000;
        while (seen.size() < SPREAD + BURST && System.currentTimeMillis() < deadline) {
          Thread.sleep(250);
          progress.say(
              "handled " + seen.size() + " of " + (SPREAD + BURST) + ", backlog max " + maxBacklog);
        }
        sampling.set(false);
        long window = w.advertisedCapacity();
        ObjectNode out = report(seen, due, survivor, killedAt, maxBacklog.get(), window, handled);
        System.out.println(Json.line(out));
        return 0;
      } finally {
        sampling.set(false);
        a.destroyForcibly();
        b.destroyForcibly();
      }
    }
  }

  private ObjectNode report(
      Map<String, Seen> seen,
      Map<String, Long> due,
      String survivor,
      long killedAt,
      long maxBacklog,
      long window,
      AtomicLong handled) {
    long firstBySurvivor = Long.MAX_VALUE;
    for (Seen x : seen.values()) {
      if (survivor.equals(x.firer()) && x.firedMs() >= killedAt) {
        firstBySurvivor = Math.min(firstBySurvivor, x.firedMs());
      }
    }
    double failover =
        firstBySurvivor == Long.MAX_VALUE ? -1 : (firstBySurvivor - killedAt) / 1000.0;
    long failoverEnd = firstBySurvivor == Long.MAX_VALUE ? Long.MAX_VALUE : firstBySurvivor;
    Histogram spread = new Histogram(3_600_000L, 3);
    Histogram burst = new Histogram(3_600_000L, 3);
    long early = 0;
    long duplicates = 0;
    long burstLastFired = 0;
    for (Map.Entry<String, Seen> e : seen.entrySet()) {
      Seen x = e.getValue();
      long d = due.get(e.getKey());
      long late = x.firedMs() - d;
      if (late < 0) {
        early++;
      }
      duplicates += x.count() - 1;
      if (e.getKey().startsWith("burst-")) {
        burst.recordValue(Math.max(0, late));
        burstLastFired = Math.max(burstLastFired, x.firedMs());
      } else if (d < killedAt || d > failoverEnd) {
        spread.recordValue(Math.max(0, late));
      }
    }
    ObjectNode o = Json.object();
    o.put("benchmark", "scheduled");
    o.put("scheduled", SPREAD + BURST);
    o.put("fired", seen.size());
    o.put("processed", handled.get());
    o.put("early", early);
    o.put("lost", SPREAD + BURST - seen.size());
    o.put("duplicates", duplicates);
    o.put("lateness_p50_ms", spread.getValueAtPercentile(50));
    o.put("lateness_p99_ms", spread.getValueAtPercentile(99));
    o.put("failover_s", Json.round(failover, 2));
    o.put("max_backlog", maxBacklog);
    o.put("window", window);
    o.put("slack", TOKEN_BATCH - 1);
    o.put("load_average", Json.loadAverage());
    ObjectNode bo = o.putObject("burst");
    bo.put("messages", BURST);
    bo.put("lateness_p50_ms", burst.getValueAtPercentile(50));
    bo.put("lateness_p99_ms", burst.getValueAtPercentile(99));
    bo.put("lateness_max_ms", burst.getMaxValue());
    o.put("spread_counted", spread.getTotalCount());
    return o;
  }

  private String holder(Connection nc) throws Exception {
    KeyValueEntry e = nc.keyValue("sluice-control").get("scheduler." + queue);
    return e == null ? null : new String(e.getValue(), StandardCharsets.US_ASCII).split(" ")[0];
  }

  private Process firer(String id) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp =
        new File(ScheduledBench.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .getPath();
    return new ProcessBuilder(
            java, "-Xmx256m", "-cp", cp, ScheduleFirerMain.class.getName(), s.server(), queue, id)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  private static void sleepUntil(long atMs) throws InterruptedException {
    long left = atMs - System.currentTimeMillis();
    if (left > 0) {
      Thread.sleep(left);
    }
  }
}
