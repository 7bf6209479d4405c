package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle;
import org.knowm.xchart.style.Styler;

/**
 * {@code scripts/bench fairness} (docs/CONTROL.md, protocol §15.3): one key floods at 10x the
 * workers' capacity while two quiet keys send at 10% of it each, first through one shared producer,
 * then through one producer per key, each with fairness keys and without them (the same messages in
 * arrival order); then two flooding keys of weights 3:1 in one producer. Reports each key's
 * end-to-end p50/p99 (from the call to send to the handler's end), the quiet keys alone, the
 * latency budget (window / service rate), the flood's share of the work, the weighted share ratio
 * and the throughput with keys against without. Ratios, not absolute speed: the machine may be
 * shared.
 */
final class FairnessBench {
  static final Codec<byte[]> JOB = Codec.bytes("bench.Fair", 1, "application/octet-stream");
  static final int CONCURRENCY = 8;
  static final int PREFETCH = 24; // window 32: 40 ms of backlog at 800/s
  // A producer's pull brings one token of at most b' = min(token batch, capacity / 2) credits, so
  // a quiet producer's pull waits behind up to prefetch (4) tokens of each flooding producer: a
  // token batch of 4 keeps that to 16 credits, half the window (protocol §15.3, docs/CONTROL.md).
  static final int TOKEN_BATCH = Integer.getInteger("sluice.bench.fairness.tokenBatch", 4);
  static final long WORK_MICROS = 10_000; // 8 threads x 10 ms = 800/s
  static final double CAPACITY_RATE = CONCURRENCY * 1e6 / WORK_MICROS;
  static final double QUIET_SHARE = 0.10;
  static final double FLOOD_FACTOR = 10;
  static final int FLOOD_WAITING_CAP = 4_000; // sends of one flooding key in progress at most
  static final int WARMUP_S = 3;
  static final int MEASURE_S = 12;
  static final List<String> QUIET = List.of("quiet-a", "quiet-b");
  static final String FLOOD = "flood";

  private final Settings s;
  private final Progress progress;
  private final String id;
  private int round;

  /** What one run measured. */
  record Run(
      Map<String, Histogram> latency, Map<String, Long> handled, double throughput, int window) {
    double p(String key, double pct) {
      Histogram h = latency.get(key);
      return h == null || h.getTotalCount() == 0 ? -1 : h.getValueAtPercentile(pct) / 1000.0;
    }

    double worseQuietP99() {
      return QUIET.stream().mapToDouble(k -> p(k, 99)).max().orElse(-1);
    }

    double share(String key) {
      long all = handled.values().stream().mapToLong(Long::longValue).sum();
      return all == 0 ? 0 : handled.getOrDefault(key, 0L) / (double) all;
    }
  }

  FairnessBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.id = id;
  }

  int run() throws Exception {
    try (Connection nc = Pipeline.connect(s.server(), "bench-fairness")) {
      Map<String, Run> runs = new LinkedHashMap<>();
      for (boolean perKey : new boolean[] {false, true}) {
        String setup = perKey ? "producer_per_key" : "shared_producer";
        runs.put(setup + "/solo", run(nc, setup + " solo", perKey, false, true, Map.of()));
        runs.put(setup + "/fair", run(nc, setup + " fair", perKey, true, false, Map.of()));
        runs.put(setup + "/unfair", run(nc, setup + " unfair", perKey, false, false, Map.of()));
      }
      runs.put("weighted", run(nc, "weighted 3:1", false, true, false, Map.of("heavy", 3)));
      ObjectNode out = report(runs);
      charts(runs);
      System.out.println(Json.line(out));
      return 0;
    }
  }

  /**
   * One run on a fresh queue: warm-up, then {@link #MEASURE_S} seconds measured. {@code weights}
   * non-empty: two flooding keys with these weights (a key not in it has weight 1) and no quiet
   * ones.
   */
  private Run run(
      Connection nc,
      String name,
      boolean perKey,
      boolean keys,
      boolean solo,
      Map<String, Integer> weights)
      throws Exception {
    String queue = "fair-" + id + "-" + (++round);
    Sluice sluice = Sluice.using(nc);
    sluice.provision(QueueSpec.builder(queue).tokenBatch(TOKEN_BATCH).build());
    Map<String, ConcurrentHistogram> latency = new ConcurrentHashMap<>();
    Map<String, AtomicLong> handled = new ConcurrentHashMap<>();
    AtomicLong measuring = new AtomicLong(Long.MAX_VALUE); // send time (ns) from which to count
    long[] window = {0};
    try (Worker w =
        sluice
            .worker(queue)
            .concurrency(CONCURRENCY)
            .prefetch(PREFETCH)
            .handle(
                JOB,
                (payload, ctx) -> {
                  Stats.work(WORK_MICROS);
                  ByteBuffer b = ByteBuffer.wrap(payload);
                  long sentAt = b.getLong();
                  String key = new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8);
                  long now = System.nanoTime();
                  if (sentAt >= measuring.get() && now <= measuring.get() + seconds(MEASURE_S)) {
                    latency
                        .computeIfAbsent(key, k -> new ConcurrentHistogram(3_600_000_000L, 3))
                        .recordValue(Math.max(0, (now - sentAt) / 1000));
                  }
                  if (now >= measuring.get() && now <= measuring.get() + seconds(MEASURE_S)) {
                    handled.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
                  }
                })
            .start()) {
      List<String> floods =
          weights.isEmpty() ? (solo ? List.of() : List.of(FLOOD)) : List.of("heavy", "light");
      List<String> quiet = weights.isEmpty() ? QUIET : List.of();
      Map<String, QueueProducer> producers = new LinkedHashMap<>();
      QueueProducer.Builder shared =
          sluice.producer(queue).acquireTimeout(java.time.Duration.ofSeconds(120));
      weights.forEach(shared::fairnessWeight);
      QueueProducer one = perKey ? null : shared.build();
      List<String> all = new ArrayList<>(floods);
      all.addAll(quiet);
      for (String k : all) {
        producers.put(
            k,
            perKey
                ? sluice.producer(queue).acquireTimeout(java.time.Duration.ofSeconds(120)).build()
                : one);
      }
      window[0] = w.advertisedCapacity();
      long start = System.nanoTime();
      long measureFrom = start + seconds(WARMUP_S);
      long end = measureFrom + seconds(MEASURE_S);
      double quietEvery = 1e9 / (CAPACITY_RATE * QUIET_SHARE);
      double floodEvery = 1e9 / (CAPACITY_RATE * FLOOD_FACTOR);
      double[] next = new double[all.size()];
      for (int i = 0; i < next.length; i++) {
        next[i] = start;
      }
      long lastProgress = 0;
      // Sends not yet completed, per key: each flooding key keeps its own sends waiting, so two
      // floods of one producer both keep demand (a shared cap would starve the one that refills
      // last, and max-min fairness would rightly give it only what it asks).
      Map<String, AtomicLong> pending = new ConcurrentHashMap<>();
      try {
        while (System.nanoTime() < end) {
          long now = System.nanoTime();
          if (now >= measureFrom && measuring.get() == Long.MAX_VALUE) {
            measuring.set(measureFrom);
          }
          for (int i = 0; i < all.size(); i++) {
            String k = all.get(i);
            boolean flood = floods.contains(k);
            QueueProducer p = producers.get(k);
            while (next[i] <= now) {
              next[i] += flood ? floodEvery : quietEvery;
              AtomicLong open = pending.computeIfAbsent(k, x -> new AtomicLong());
              if (flood && open.get() >= FLOOD_WAITING_CAP) {
                continue; // this flooding key is at its cap: the send is not made
              }
              send(p, k, keys, open);
            }
          }
          if (now - lastProgress > 500_000_000L) {
            lastProgress = now;
            progress.update(
                name,
                now < measureFrom ? "warm-up" : "measure",
                (now - start) / 1e9,
                handled.values().stream().mapToLong(AtomicLong::get).sum()
                    / Math.max(1e-9, (now - measureFrom) / 1e9),
                sluice.backlog(queue));
          }
          Thread.sleep(1);
        }
        progress.done();
      } finally {
        for (QueueProducer p : new java.util.HashSet<>(producers.values())) {
          p.close(); // fails the sends still waiting: they are not counted
        }
      }
    }
    Map<String, Histogram> lat = new LinkedHashMap<>();
    latency.forEach((k, h) -> lat.put(k, h));
    Map<String, Long> counts = new LinkedHashMap<>();
    handled.forEach((k, n) -> counts.put(k, n.get()));
    double tput = counts.values().stream().mapToLong(Long::longValue).sum() / (double) MEASURE_S;
    Run r = new Run(lat, counts, tput, (int) window[0]);
    progress.say(
        String.format(
            Locale.ROOT,
            "%s: %.0f msg/s, quiet p99 %.1f ms, shares %s",
            name,
            tput,
            r.worseQuietP99(),
            shares(r)));
    return r;
  }

  private static String shares(Run r) {
    StringBuilder b = new StringBuilder();
    r.handled().forEach((k, n) -> b.append(String.format(Locale.ROOT, "%s=%.3f ", k, r.share(k))));
    return b.toString().trim();
  }

  private static void send(QueueProducer p, String key, boolean keys, AtomicLong open) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] payload = new byte[8 + k.length];
    ByteBuffer.wrap(payload).putLong(System.nanoTime()).put(k);
    OutgoingMessage.Builder m = OutgoingMessage.builder(JOB.type(), 1, payload);
    if (keys) {
      m.fairnessKey(key);
    }
    open.incrementAndGet();
    // A send failed at close is not counted.
    p.sendAsync(m.build()).whenComplete((r, e) -> open.decrementAndGet());
  }

  static ObjectNode report(Map<String, Run> runs) {
    Run unfairShared = runs.get("shared_producer/unfair");
    double rate = unfairShared.throughput();
    int window = unfairShared.window();
    double budgetMs = rate <= 0 ? -1 : window / rate * 1000;
    ObjectNode o = Json.object();
    o.put("benchmark", "fairness");
    o.put("budget_ms", Json.round(budgetMs, 1));
    o.put("window", window);
    o.put("service_rate", Json.round(rate, 1));
    boolean met = true;
    for (String setup : List.of("shared_producer", "producer_per_key")) {
      Run fair = runs.get(setup + "/fair");
      Run solo = runs.get(setup + "/solo");
      Run unfair = runs.get(setup + "/unfair");
      ObjectNode x = o.putObject(setup);
      x.put("quiet_p99_ms", Json.round(fair.worseQuietP99(), 1));
      x.put("quiet_solo_p99_ms", Json.round(solo.worseQuietP99(), 1));
      x.put("quiet_p99_unfair_ms", Json.round(unfair.worseQuietP99(), 1));
      x.put("flood_share", Json.round(fair.share(FLOOD), 3));
      double target = 1.2 * (solo.worseQuietP99() + budgetMs);
      x.put("target_ms", Json.round(target, 1));
      x.put("met", fair.worseQuietP99() <= target);
      met &= fair.worseQuietP99() <= target;
      ObjectNode keys = x.putObject("keys");
      for (String k : List.of(FLOOD, QUIET.get(0), QUIET.get(1))) {
        ObjectNode ko = keys.putObject(k);
        ko.put("p50_ms", Json.round(fair.p(k, 50), 1));
        ko.put("p99_ms", Json.round(fair.p(k, 99), 1));
        ko.put("solo_p50_ms", Json.round(solo.p(k, 50), 1));
        ko.put("solo_p99_ms", Json.round(solo.p(k, 99), 1));
        ko.put("unfair_p50_ms", Json.round(unfair.p(k, 50), 1));
        ko.put("unfair_p99_ms", Json.round(unfair.p(k, 99), 1));
      }
    }
    Run weighted = runs.get("weighted");
    double ratio =
        weighted.share("light") <= 0 ? -1 : weighted.share("heavy") / weighted.share("light");
    ObjectNode wo = o.putObject("weighted");
    wo.put("share_ratio", Json.round(ratio, 3));
    wo.put("met", Math.abs(ratio - 3) <= 0.3);
    met &= Math.abs(ratio - 3) <= 0.3;
    double tputRatio =
        Json.ratio(runs.get("shared_producer/fair").throughput(), unfairShared.throughput());
    o.put("throughput_ratio", Json.round(tputRatio, 3));
    met &= tputRatio >= 0.95;
    o.put("targets_met", met);
    o.put("flood_waiting_cap", FLOOD_WAITING_CAP);
    o.put("token_batch", TOKEN_BATCH);
    o.put("load_average", Json.round(Json.loadAverage(), 2));
    return o;
  }

  /** Each key's p99 with fairness, without it and alone, per set-up (log axis: ms beside s). */
  private void charts(Map<String, Run> runs) {
    System.setProperty("java.awt.headless", "true");
    for (String setup : List.of("shared_producer", "producer_per_key")) {
      List<String> keys = List.of(FLOOD, QUIET.get(0), QUIET.get(1));
      Map<String, List<Double>> series = new LinkedHashMap<>();
      for (String variant : List.of("fair", "unfair", "solo")) {
        Run r = runs.get(setup + "/" + variant);
        series.put(
            (variant.equals("fair")
                    ? "with fairness keys"
                    : variant.equals("unfair") ? "without keys (arrival order)" : "alone")
                + " p99",
            keys.stream().map(k -> r.p(k, 99) > 0 ? (Double) r.p(k, 99) : null).toList());
      }
      CategoryChart c =
          new CategoryChartBuilder()
              .width(800)
              .height(450)
              .title("Fairness, " + setup.replace('_', ' ') + ": each key's end-to-end p99")
              .yAxisTitle("p99 ms (log)")
              .build();
      // XChart draws no bars on a logarithmic axis, and milliseconds beside seconds need one.
      c.getStyler().setYAxisLogarithmic(true);
      // Points, not lines: the keys are categories, not a series in time; no point = no data
      // (the flood runs with the quiet keys only).
      c.getStyler().setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Scatter);
      c.getStyler().setMarkerSize(12);
      c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
      c.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
      c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
      series.forEach(
          (n, v) ->
              c.addSeries(
                  n + " " + label(keys, v),
                  keys,
                  v.stream().map(x -> x == null ? null : Math.round(x * 10) / 10.0).toList()));
      try {
        java.nio.file.Files.createDirectories(s.out());
        java.nio.file.Path p = s.out().resolve("control-fairness-" + setup.replace('_', '-'));
        BitmapEncoder.saveBitmap(c, p.toString(), BitmapEncoder.BitmapFormat.PNG);
        progress.say("chart " + p + ".png");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("could not write the chart into " + s.out(), e);
      }
    }
  }

  /** The values in the legend, since XChart prints no labels on points. */
  private static String label(List<String> keys, List<Double> v) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      if (v.get(i) != null) {
        parts.add(String.format(Locale.ROOT, "%.0f", v.get(i)));
      }
    }
    return "(" + String.join(" / ", parts) + " ms)";
  }

  private static long seconds(int n) {
    return TimeUnit.SECONDS.toNanos(n);
  }
}
