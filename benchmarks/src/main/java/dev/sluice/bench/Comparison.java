package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code slow-workers} and {@code credit-overhead}: raw jnats and Sluice on the same server,
 * alternated for {@code --rounds} rounds (raw, sluice, raw, sluice, ...), each figure the median of
 * its passes. A pipeline's first pass warms up for {@code --warmup} seconds (the JIT), later ones
 * for {@code --rewarm}.
 */
final class Comparison {
  static final double SLOW_THROUGHPUT_TARGET = 0.95;
  static final double SLOW_P99_TARGET_MS = 50;
  static final double OVERHEAD_RATIO_TARGET = 0.85;
  static final double OVERHEAD_CPU_RATIO_TARGET = 1.25;
  static final double CREDIT_MSGS_TARGET = 0.05;

  private final Settings s;
  private final Driver driver;
  private final String id;

  Comparison(Settings s, Driver driver, String id) {
    this.s = s;
    this.driver = driver;
    this.id = id;
  }

  /** The passes of both pipelines, in the order they ran. */
  List<Result> runPasses() throws Exception {
    List<Result> passes = new ArrayList<>();
    Map<String, Integer> runs = new LinkedHashMap<>();
    int n = 0;
    List<String> pipelines = s.floor() ? Floor.PIPELINES : List.of("raw", "sluice");
    for (String name : Rounds.order(pipelines, s.rounds())) {
      int warm = runs.merge(name, 1, Integer::sum) == 1 ? s.warmupSeconds() : s.rewarmSeconds();
      String passId = id + "-" + n++;
      Pipeline p = pipeline(s, name, passId);
      passes.add(driver.run(p, warm, s.seconds()));
    }
    return passes;
  }

  /** Pipeline {@code name} ({@code sluice}, {@code raw} or a floor variant) for one pass. */
  static Pipeline pipeline(Settings s, String name, String passId) {
    FloorWire wire = FloorWire.of(name);
    return wire != null
        ? new RawPipeline(s, passId, 1, wire)
        : new SluicePipeline(s, "bench-" + passId, 1, 1, 1);
  }

  static List<Result> of(List<Result> passes, String pipeline) {
    return passes.stream().filter(r -> r.pipeline().equals(pipeline)).toList();
  }

  /** Runs, prints the summary (stderr with --json), the JSON line, and writes the charts. */
  int run(String version) throws Exception {
    List<Result> passes = runPasses();
    Result raw = Rounds.medianResult(of(passes, "raw"));
    Result sluice = Rounds.medianResult(of(passes, "sluice"));
    double load = Json.loadAverage();
    PrintStream out = s.json() ? System.err : System.out;
    boolean slow = s.benchmark().equals(Settings.SLOW_WORKERS);
    if (slow) {
      slowWorkersSummary(out, s, version, raw, sluice);
    } else {
      creditOverheadSummary(out, s, version, raw, sluice);
    }
    cpuSummary(out, raw, sluice, load, passes.size());
    Map<String, Result> floor = new LinkedHashMap<>();
    if (s.floor()) {
      Floor.PIPELINES.forEach(p -> floor.put(p, Rounds.medianResult(of(passes, p))));
      Floor.summary(out, floor);
    }
    Charts charts = new Charts(s.out());
    String b = s.benchmark();
    charts.backlog(
        b + "-backlog",
        b + ": backlog over the measured period (median pass)",
        Map.of("raw jnats", raw.backlog(), "Sluice", sluice.backlog()));
    cpuCharts(charts, b, Map.of("raw jnats", raw, "Sluice", sluice));
    charts.percentiles(
        b + "-latency", b + ": end-to-end latency", Map.of("raw jnats", raw, "Sluice", sluice));
    out.println("charts: " + charts.written());
    if (s.json()) {
      ObjectNode o = slow ? slowWorkersJson(raw, sluice) : creditOverheadJson(raw, sluice);
      if (!floor.isEmpty()) {
        Floor.addTo(o, floor);
      }
      o.set("passes", Json.passes(passes));
      o.put("load_average", Json.round(load, 2));
      System.out.println(Json.line(o));
    }
    return 0;
  }

  /** Throughput and CPU-per-message bars for the pipelines given. */
  static void cpuCharts(Charts charts, String prefix, Map<String, Result> results) {
    Map<String, Double> tput = new LinkedHashMap<>();
    Map<String, List<Double>> cpu = new LinkedHashMap<>();
    results.forEach(
        (name, r) -> {
          tput.put(name, Math.round(r.throughput() * 10) / 10.0);
          cpu.put(
              name,
              List.of(
                  Math.max(0, Math.round(r.cpuJvmUsPerMsg() * 10) / 10.0),
                  Math.max(0, Math.round(r.cpuServerUsPerMsg() * 10) / 10.0)));
        });
    charts.bars(prefix + "-throughput", prefix + ": throughput", "msg/s", tput);
    charts.groupedBars(
        prefix + "-cpu",
        prefix + ": CPU per message",
        "CPU µs per message",
        List.of("client JVM", "broker"),
        cpu);
  }

  static void cpuSummary(PrintStream out, Result raw, Result sluice, double load, int passes) {
    out.printf(
        Locale.ROOT,
        "CPU µs/msg (JVM + server): raw %.1f (%.1f + %.1f), sluice %.1f (%.1f + %.1f):"
            + " ratio %.2f; medians of %d passes; load average %.2f%n",
        raw.cpuUsPerMsg(),
        raw.cpuJvmUsPerMsg(),
        raw.cpuServerUsPerMsg(),
        sluice.cpuUsPerMsg(),
        sluice.cpuJvmUsPerMsg(),
        sluice.cpuServerUsPerMsg(),
        Json.ratio(sluice.cpuUsPerMsg(), raw.cpuUsPerMsg()),
        passes,
        load);
  }

  // ------------------------------------------------------------------------------ slow-workers

  static void slowWorkersSummary(
      PrintStream out, Settings s, String version, Result raw, Result sluice) {
    long window = sluice.extra("window");
    long slack = sluice.extra("slack");
    out.printf(
        Locale.ROOT,
        "slow-workers: nats-server %s, %d handler threads x %d us of work, %d sends in flight,"
            + " %d s measured; Sluice: %s%n",
        version,
        s.concurrency(),
        s.workMicros(),
        s.outstanding(),
        s.seconds(),
        sluiceConfig(s));
    out.printf(
        Locale.ROOT,
        "%-8s %12s %12s %12s %10s %10s %10s %10s%n",
        "",
        "msg/s",
        "max backlog",
        "mean backlog",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "handled");
    for (Result r : new Result[] {raw, sluice}) {
      out.printf(
          Locale.ROOT,
          "%-8s %12.1f %12d %12.1f %10.2f %10.2f %10.2f %10d%n",
          r.pipeline(),
          r.throughput(),
          r.maxBacklog(),
          r.meanBacklog(),
          r.p50Ms(),
          r.p99Ms(),
          r.p999Ms(),
          r.handled());
    }
    double ratio = sluice.throughput() / raw.throughput();
    out.printf(
        Locale.ROOT,
        "throughput sluice/raw %.3f (target >= %.2f): %s%n",
        ratio,
        SLOW_THROUGHPUT_TARGET,
        verdict(ratio >= SLOW_THROUGHPUT_TARGET));
    out.printf(
        Locale.ROOT,
        "max backlog %d (target <= window %d + slack %d = %d): %s;"
            + " worst sample vs the window advertised at that instant: %+d%n",
        sluice.maxBacklog(),
        window,
        slack,
        window + slack,
        verdict(sluice.maxBacklog() <= window + slack),
        sluice.extra("max_excess"));
    out.printf(
        Locale.ROOT,
        "e2e p99 %.2f ms (target <= %.0f ms): %s%n",
        sluice.p99Ms(),
        SLOW_P99_TARGET_MS,
        verdict(sluice.p99Ms() <= SLOW_P99_TARGET_MS));
  }

  static ObjectNode slowWorkersJson(Result raw, Result sluice) {
    ObjectNode o = Json.object();
    o.set("raw", Json.latency(raw));
    ObjectNode sl = Json.latency(sluice);
    sl.put("window", sluice.extra("window"));
    sl.put("slack", sluice.extra("slack"));
    o.set("sluice", sl);
    o.put("ratio", Json.round(Json.ratio(sluice.throughput(), raw.throughput()), 3));
    o.put("cpu_ratio", Json.round(Json.ratio(sluice.cpuUsPerMsg(), raw.cpuUsPerMsg()), 3));
    return o;
  }

  // --------------------------------------------------------------------------- credit-overhead

  /** Token publishes plus ProducerReport/ledger writes plus adverts, per message handled. */
  static double creditMsgsPerMsg(Result sluice) {
    long n =
        sluice.extra("token_publishes")
            + sluice.extra("control_writes")
            + sluice.extra("advert_writes");
    return sluice.handled() == 0 ? 0 : (double) n / sluice.handled();
  }

  static void creditOverheadSummary(
      PrintStream out, Settings s, String version, Result raw, Result sluice) {
    out.printf(
        Locale.ROOT,
        "credit-overhead: nats-server %s, %d no-op handler threads (%d us), %d sends in flight,"
            + " %d s measured; Sluice: %s, max window %d%n",
        version,
        s.concurrency(),
        s.workMicros(),
        s.outstanding(),
        s.seconds(),
        sluiceConfig(s),
        sluice.extra("window"));
    out.printf(
        Locale.ROOT, "%-8s %12s %10s %12s %12s%n", "", "msg/s", "handled", "max backlog", "p99 ms");
    for (Result r : new Result[] {raw, sluice}) {
      out.printf(
          Locale.ROOT,
          "%-8s %12.1f %10d %12d %12.2f%n",
          r.pipeline(),
          r.throughput(),
          r.handled(),
          r.maxBacklog(),
          r.p99Ms());
    }
    // The two targets are judged against raw-wire (docs/BENCHMARKS.md, "## Decisions"), which
    // only a --floor run measures; against bare raw these ratios include the wire.
    double ratio = sluice.throughput() / raw.throughput();
    out.printf(
        Locale.ROOT,
        "throughput sluice/raw %.3f (bare raw, the wire included; the target >= %.2f is judged"
            + " against raw-wire: --floor)%n",
        ratio,
        OVERHEAD_RATIO_TARGET);
    double cpuRatio = Json.ratio(sluice.cpuUsPerMsg(), raw.cpuUsPerMsg());
    out.printf(
        Locale.ROOT,
        "CPU per message sluice/raw %.3f (bare raw; the target <= %.2f is judged against"
            + " raw-wire: --floor)%n",
        cpuRatio,
        OVERHEAD_CPU_RATIO_TARGET);
    long handled = Math.max(1, sluice.handled());
    out.printf(
        Locale.ROOT,
        "credit messages %.4f per message (target <= %.2f): %s%n"
            + "  token publishes %d (%.4f/msg), sluice-control writes (ProducerReports, ledger)"
            + " %d (%.4f/msg), capacity adverts %d (%.4f/msg)%n",
        creditMsgsPerMsg(sluice),
        CREDIT_MSGS_TARGET,
        verdict(creditMsgsPerMsg(sluice) <= CREDIT_MSGS_TARGET),
        sluice.extra("token_publishes"),
        (double) sluice.extra("token_publishes") / handled,
        sluice.extra("control_writes"),
        (double) sluice.extra("control_writes") / handled,
        sluice.extra("advert_writes"),
        (double) sluice.extra("advert_writes") / handled);
  }

  static ObjectNode creditOverheadJson(Result raw, Result sluice) {
    ObjectNode o = Json.object();
    o.set("raw", Json.throughputCpu(raw));
    ObjectNode sl = Json.throughputCpu(sluice);
    sl.put("credit_msgs_per_msg", Json.round(creditMsgsPerMsg(sluice), 4));
    o.set("sluice", sl);
    o.put("ratio", Json.round(Json.ratio(sluice.throughput(), raw.throughput()), 3));
    o.put("cpu_ratio", Json.round(Json.ratio(sluice.cpuUsPerMsg(), raw.cpuUsPerMsg()), 3));
    return o;
  }

  static String sluiceConfig(Settings s) {
    String window =
        s.latencyTargetMs() > 0
            ? String.format(
                Locale.ROOT,
                "latency target %d ms (window = %d + rate x target, at most %d)",
                s.latencyTargetMs(),
                s.concurrency(),
                s.maxCapacity())
            : "static window " + (s.concurrency() + s.prefetch());
    return String.format(
        Locale.ROOT,
        "token batch %d, worker prefetch %d, %s, heartbeat %d ms",
        s.tokenBatch(),
        s.prefetch(),
        window,
        s.heartbeatMs());
  }

  static String verdict(boolean met) {
    return met ? "met" : "MISSED";
  }
}
