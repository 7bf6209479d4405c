package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code rabbitmq}: Sluice beside a RabbitMQ quorum queue (publisher confirms, window 1,000; manual
 * acks, prefetch 1,000) in one run, on the two workloads: fast (no-op handlers) and slow (1 ms x 8
 * handlers, where raw jnats runs too, for the backlog chart). One pass each; a pipeline's first
 * pass warms up for {@code --warmup} seconds, later ones for {@code --rewarm}.
 */
final class RabbitBench {
  static final double FAST_RATIO_TARGET = 1.2;

  private final Settings s;
  private final Progress progress;
  private final String id;
  private final Set<String> warmed = new HashSet<>();
  private int n;

  RabbitBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.id = id;
  }

  private Result pass(Settings ws, String pipeline) throws Exception {
    String pid = id + "-" + n++;
    Pipeline p =
        switch (pipeline) {
          case "raw" -> new RawPipeline(ws, pid);
          case "sluice" -> new SluicePipeline(ws, "bench-" + pid, 1, 1, 1);
          default -> new RabbitPipeline(ws, pid);
        };
    int warm = warmed.add(pipeline) ? s.warmupSeconds() : s.rewarmSeconds();
    return new Driver(ws, progress).run(p, warm, s.seconds());
  }

  int run() throws Exception {
    Settings fast = s.forWorkload(Settings.CREDIT_OVERHEAD);
    Settings slow = s.forWorkload(Settings.SLOW_WORKERS);
    Map<String, Result> f = new LinkedHashMap<>();
    f.put("rabbitmq", pass(fast, "rabbitmq"));
    f.put("sluice", pass(fast, "sluice"));
    Map<String, Result> sl = new LinkedHashMap<>();
    sl.put("raw", pass(slow, "raw"));
    sl.put("sluice", pass(slow, "sluice"));
    sl.put("rabbitmq", pass(slow, "rabbitmq"));
    report(f, sl);
    return 0;
  }

  static ObjectNode json(Map<String, Result> fast, Map<String, Result> slow) {
    ObjectNode o = Json.object();
    ObjectNode f = o.putObject("fast");
    f.set("rabbitmq", Json.throughputCpu(fast.get("rabbitmq")));
    f.set("sluice", Json.throughputCpu(fast.get("sluice")));
    f.put(
        "ratio",
        Json.round(
            Json.ratio(fast.get("sluice").throughput(), fast.get("rabbitmq").throughput()), 3));
    ObjectNode sl = o.putObject("slow");
    ObjectNode rabbit = Json.latency(slow.get("rabbitmq"));
    rabbit.put("max_depth", slow.get("rabbitmq").maxBacklog());
    sl.set("rabbitmq", rabbit);
    sl.set("sluice", Json.latency(slow.get("sluice")));
    if (slow.containsKey("raw")) {
      sl.set("raw", Json.latency(slow.get("raw")));
    }
    return o;
  }

  private void report(Map<String, Result> fast, Map<String, Result> slow) {
    double load = Json.loadAverage();
    PrintStream out = s.json() ? System.err : System.out;
    out.printf(
        Locale.ROOT,
        "rabbitmq: quorum queue, confirms window %d, prefetch %d; Sluice windows 1024 (fast) and"
            + " 192 (slow); %d s measured per pass; load average %.2f%n",
        s.rabbitmqConfirmWindow(),
        s.rabbitmqPrefetch(),
        s.seconds(),
        load);
    out.printf(
        Locale.ROOT,
        "%-16s %10s %10s %10s %12s %10s %10s%n",
        "",
        "msg/s",
        "CPU µs/msg",
        "(JVM+brk)",
        "max depth",
        "p50 ms",
        "p99 ms");
    List<String[]> rows = new ArrayList<>();
    fast.forEach((k, r) -> rows.add(new String[] {"fast " + k}));
    for (Map<String, Result> m : List.of(fast, slow)) {
      String w = m == fast ? "fast " : "slow ";
      m.forEach(
          (k, r) ->
              out.printf(
                  Locale.ROOT,
                  "%-16s %10.1f %10.1f %4.0f+%-5.0f %12d %10.2f %10.2f%n",
                  w + k,
                  r.throughput(),
                  r.cpuUsPerMsg(),
                  r.cpuJvmUsPerMsg(),
                  r.cpuServerUsPerMsg(),
                  r.maxBacklog(),
                  r.p50Ms(),
                  r.p99Ms()));
    }
    double ratio = fast.get("sluice").throughput() / fast.get("rabbitmq").throughput();
    out.printf(
        Locale.ROOT,
        "fast: Sluice / RabbitMQ throughput %.3f (target >= %.1f): %s%n",
        ratio,
        FAST_RATIO_TARGET,
        Comparison.verdict(ratio >= FAST_RATIO_TARGET));
    Charts charts = new Charts(s.out());
    Map<String, List<Result.Sample>> backlog = new LinkedHashMap<>();
    slow.forEach((k, r) -> backlog.put(label(k), r.backlog()));
    charts.backlog(
        "rabbitmq-slow-backlog", "slow workers (1 ms x 8): queue depth over time", backlog);
    Map<String, Result> all = new LinkedHashMap<>();
    fast.forEach((k, r) -> all.put("fast " + label(k), r));
    slow.forEach((k, r) -> all.put("slow " + label(k), r));
    Comparison.cpuCharts(charts, "rabbitmq", all);
    Map<String, Result> lat = new LinkedHashMap<>();
    slow.forEach((k, r) -> lat.put(label(k), r));
    charts.percentiles("rabbitmq-slow-latency", "slow workers: end-to-end latency", lat);
    out.println("charts: " + charts.written());
    if (s.json()) {
      ObjectNode o = json(fast, slow);
      o.put("load_average", Json.round(load, 2));
      System.out.println(Json.line(o));
    }
  }

  static String label(String pipeline) {
    return switch (pipeline) {
      case "raw" -> "raw jnats";
      case "sluice" -> "Sluice";
      default -> "RabbitMQ";
    };
  }
}
