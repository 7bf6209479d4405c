package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.DownstreamOverloadedException;
import dev.sluice.OutgoingMessage;
import dev.sluice.PushbackPolicy;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code scripts/bench pushback}: four workers call a downstream stand-in that accepts at most
 * {@link #LIMIT} calls a second (one token bucket shared by every worker of the run) and answers
 * "overloaded" above it, fed by a producer that could send far more. Once with pushback (the
 * handler throws {@link DownstreamOverloadedException}, the workers lower their capacity by AIMD),
 * once without (the same exception, capacity fixed: PushbackPolicy.disabled()). Reports, after the
 * first {@link #SETTLE_S} s of each run, the share of overloaded answers and the accepted calls a
 * second (docs/CONTROL.md). Ratios, not speed: the limit is far below what the machine does.
 */
final class PushbackBench {
  static final int LIMIT = 200; // downstream calls accepted per second
  static final int BURST = 20; // the stand-in's bucket: 0.1 s of its rate
  static final int WORKERS = 4;
  static final int CONCURRENCY = 4;
  static final int PREFETCH = 4;
  static final long CALL_MS = 40; // one downstream call; 4 x 8 slots could make 800 calls a second
  static final Duration RETRY_AFTER = Duration.ofMillis(50);
  static final int SETTLE_S = 10;
  static final int RUN_S = 40;
  static final Codec<String> JOB = Codec.utf8("bench.Pushback", 1);

  private final Settings s;
  private final Progress progress;
  private final String id;

  PushbackBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.id = id;
  }

  /** The downstream stand-in: a token bucket of {@link #LIMIT} a second, {@link #BURST} deep. */
  static final class Downstream {
    private final double perNano = LIMIT / 1e9;
    private double tokens = BURST;
    private long last = System.nanoTime();
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong overloaded = new AtomicLong();

    synchronized boolean call() {
      long now = System.nanoTime();
      tokens = Math.min(BURST, tokens + (now - last) * perNano);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        accepted.incrementAndGet();
        return true;
      }
      overloaded.incrementAndGet();
      return false;
    }
  }

  /**
   * One second of a run: accepted and overloaded calls, and the capacity the workers advertised.
   */
  record Second(int t, long accepted, long overloaded, long capacity) {}

  /** One run's figures after the settling time, and its seconds. */
  record Run(double overloadedShare, double throughput, List<Second> seconds) {}

  int run() throws Exception {
    progress.say(
        String.format(
            Locale.ROOT,
            "pushback: downstream limit %d/s, %d workers x (%d + %d), %d ms calls; %d s per run,"
                + " the first %d s not counted",
            LIMIT,
            WORKERS,
            CONCURRENCY,
            PREFETCH,
            CALL_MS,
            RUN_S,
            SETTLE_S));
    Run with = run("with", PushbackPolicy.defaults());
    Run without = run("without", PushbackPolicy.disabled());
    charts(with, without);
    ObjectNode o = Json.object();
    o.put("benchmark", "pushback");
    o.set("with", figures(with));
    o.set("without", figures(without));
    o.put("limit", LIMIT);
    o.put("throughput_ratio", Math.round(with.throughput() / LIMIT * 1000) / 1000.0);
    o.put("load_average", Json.loadAverage());
    progress.say(
        String.format(
            Locale.ROOT,
            "with pushback: %.1f%% overloaded, %.0f/s (%.2f x the limit); without: %.1f%%"
                + " overloaded, %.0f/s. Targets: <= 5%% overloaded, >= 0.8 x the limit",
            100 * with.overloadedShare(),
            with.throughput(),
            with.throughput() / LIMIT,
            100 * without.overloadedShare(),
            without.throughput()));
    System.out.println(Json.line(o));
    return 0;
  }

  private static ObjectNode figures(Run r) {
    ObjectNode n = Json.object();
    n.put("overloaded_share", Math.round(r.overloadedShare() * 10_000) / 10_000.0);
    n.put("throughput", Math.round(r.throughput() * 10) / 10.0);
    return n;
  }

  private Run run(String name, PushbackPolicy policy) throws Exception {
    String queue = "pushback-" + name + "-" + id;
    Downstream downstream = new Downstream();
    List<Connection> conns = new ArrayList<>();
    List<Worker> workers = new ArrayList<>();
    AtomicBoolean sending = new AtomicBoolean(true);
    try (Connection nc = Pipeline.connect(s.server(), "bench-pushback-" + name)) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(queue).tokenBatch(4).build());
      for (int i = 0; i < WORKERS; i++) {
        Connection wc = Pipeline.connect(s.server(), "bench-pushback-worker-" + i);
        conns.add(wc);
        workers.add(
            Sluice.using(wc)
                .worker(queue)
                .workerId(name + "-w" + i)
                .concurrency(CONCURRENCY)
                .prefetch(PREFETCH)
                .pushback(policy)
                .handle(
                    JOB,
                    (v, ctx) -> {
                      Thread.sleep(CALL_MS);
                      if (!downstream.call()) {
                        throw new DownstreamOverloadedException("429", RETRY_AFTER);
                      }
                    })
                .start());
      }
      try (QueueProducer p = sluice.producer(queue).acquireTimeout(Duration.ofMinutes(5)).build()) {
        Semaphore outstanding = new Semaphore(256);
        Thread sender =
            new Thread(
                () -> {
                  while (sending.get()) {
                    try {
                      outstanding.acquire();
                    } catch (InterruptedException e) {
                      return;
                    }
                    p.sendAsync(OutgoingMessage.of(JOB, "call"))
                        .whenComplete((r, e) -> outstanding.release());
                  }
                },
                "bench-pushback-sender");
        sender.setDaemon(true);
        sender.start();
        List<Second> seconds = new ArrayList<>();
        long start = System.nanoTime();
        long lastAccepted = 0;
        long lastOverloaded = 0;
        for (int t = 1; t <= RUN_S; t++) {
          long until = start + t * 1_000_000_000L;
          long left;
          while ((left = until - System.nanoTime()) > 0) {
            Thread.sleep(Math.max(1, left / 1_000_000));
          }
          long a = downstream.accepted.get();
          long o = downstream.overloaded.get();
          long capacity = workers.stream().mapToLong(Worker::advertisedCapacity).sum();
          seconds.add(new Second(t, a - lastAccepted, o - lastOverloaded, capacity));
          progress.update(
              name,
              t <= SETTLE_S ? "settle" : "measure",
              t,
              a - lastAccepted,
              sluice.backlog(queue));
          lastAccepted = a;
          lastOverloaded = o;
        }
        progress.done();
        sending.set(false);
        sender.interrupt();
        long accepted = 0;
        long overloaded = 0;
        for (Second x : seconds) {
          if (x.t() > SETTLE_S) {
            accepted += x.accepted();
            overloaded += x.overloaded();
          }
        }
        double share =
            accepted + overloaded == 0 ? 0 : (double) overloaded / (accepted + overloaded);
        Run r = new Run(share, accepted / (double) (RUN_S - SETTLE_S), seconds);
        progress.say(
            String.format(
                Locale.ROOT,
                "%s pushback: %d accepted, %d overloaded after %d s",
                name,
                accepted,
                overloaded,
                SETTLE_S));
        return r;
      }
    } finally {
      sending.set(false);
      for (Worker w : workers) {
        w.close();
      }
      for (Connection c : conns) {
        Pipeline.closeQuietly(c);
      }
    }
  }

  private void charts(Run with, Run without) {
    System.setProperty("java.awt.headless", "true");
    XYChart rate =
        new XYChartBuilder()
            .width(800)
            .height(450)
            .title("Downstream calls a second, limit " + LIMIT + "/s (4 workers)")
            .xAxisTitle("seconds")
            .yAxisTitle("calls a second")
            .build();
    rate.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    rate.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    rate.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    series(rate, "accepted, with pushback", with, Second::accepted);
    series(rate, "overloaded, with pushback", with, Second::overloaded);
    series(rate, "accepted, without", without, Second::accepted);
    series(rate, "overloaded, without", without, Second::overloaded);
    XYChart capacity =
        new XYChartBuilder()
            .width(800)
            .height(450)
            .title("Capacity the 4 workers advertise (sum), configured 32")
            .xAxisTitle("seconds")
            .yAxisTitle("capacity")
            .build();
    capacity.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    capacity.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    capacity.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    series(capacity, "with pushback", with, Second::capacity);
    series(capacity, "without", without, Second::capacity);
    save(rate, "control-pushback-rate");
    save(capacity, "control-pushback-capacity");
  }

  private static void series(
      XYChart c, String name, Run r, java.util.function.ToLongFunction<Second> f) {
    double[] x = r.seconds().stream().mapToDouble(Second::t).toArray();
    double[] y = r.seconds().stream().mapToDouble(v -> f.applyAsLong(v)).toArray();
    c.addSeries(name, x, y).setMarker(SeriesMarkers.NONE);
  }

  private void save(XYChart c, String file) {
    try {
      Path dir = s.out();
      Files.createDirectories(dir);
      BitmapEncoder.saveBitmap(c, dir.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
      progress.say("chart: " + dir.resolve(file + ".png"));
    } catch (IOException e) {
      throw new UncheckedIOException("could not write chart " + file, e);
    }
  }
}
