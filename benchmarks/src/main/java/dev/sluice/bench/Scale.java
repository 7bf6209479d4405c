package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code scale}: Sluice with 1, 2, 4, 8 producers (one worker) and 1, 2, 4, 8 workers (one
 * producer), each on a fresh queue, the slow-workers workload per worker (1 ms handlers x 8
 * threads, window 192). Reports throughput, CPU per message and each producer's share of what was
 * stored (fairness, PROTOCOL.md's I4). A discarded pass warms the JIT up first.
 */
final class Scale {
  static final double SCALE_TARGET = 0.9;

  private final Settings s;
  private final Driver driver;
  private final String id;

  Scale(Settings s, Driver driver, String id) {
    this.s = s;
    this.driver = driver;
    this.id = id;
  }

  /** One measured configuration. */
  record Point(int producers, int workers, Result result) {}

  int run() throws Exception {
    int n = 0;
    driver.run(new SluicePipeline(s, "bench-" + id + "-w", 1, 1, 1), s.warmupSeconds(), 3);
    List<Point> byProducers = new ArrayList<>();
    Point single = null;
    for (int p : s.producerCounts()) {
      Result r =
          driver.run(
              new SluicePipeline(s, "bench-" + id + "-" + n++, p, 1, 1),
              s.rewarmSeconds(),
              s.seconds());
      Point pt = new Point(p, 1, r);
      byProducers.add(pt);
      if (p == 1) {
        single = pt;
      }
    }
    List<Point> byWorkers = new ArrayList<>();
    for (int w : s.workerCounts()) {
      if (w == 1 && single != null) {
        byWorkers.add(single); // the same configuration: measured once
        continue;
      }
      Result r =
          driver.run(
              new SluicePipeline(s, "bench-" + id + "-" + n++, 1, w, 1),
              s.rewarmSeconds(),
              s.seconds());
      byWorkers.add(new Point(1, w, r));
    }
    report(byProducers, byWorkers);
    return 0;
  }

  static double best(List<Point> points) {
    return points.stream().mapToDouble(p -> p.result().throughput()).max().orElse(0);
  }

  static ObjectNode json(List<Point> byProducers, List<Point> byWorkers, double load) {
    ObjectNode o = Json.object();
    o.set("producers", points(byProducers));
    o.set("workers", points(byWorkers));
    Point p1 = byProducers.stream().filter(p -> p.producers() == 1).findFirst().orElse(null);
    double single = p1 == null ? 0 : p1.result().throughput();
    o.put("single", Json.round(single, 1));
    o.put(
        "max_producers_ratio",
        Json.round(
            Json.ratio(byProducers.get(byProducers.size() - 1).result().throughput(), single), 3));
    o.put(
        "max_workers_ratio",
        Json.round(
            Json.ratio(byWorkers.get(byWorkers.size() - 1).result().throughput(), single), 3));
    o.put("load_average", Json.round(load, 2));
    return o;
  }

  private static ArrayNode points(List<Point> points) {
    ArrayNode a = Json.MAPPER.createArrayNode();
    for (Point p : points) {
      ObjectNode o = Json.latency(p.result());
      o.put("producers", p.producers());
      o.put("workers", p.workers());
      ArrayNode shares = o.putArray("shares");
      p.result().shares().forEach(x -> shares.add(Json.round(x, 4)));
      a.add(o);
    }
    return a;
  }

  private void report(List<Point> byProducers, List<Point> byWorkers) {
    double load = Json.loadAverage();
    PrintStream out = s.json() ? System.err : System.out;
    out.printf(
        Locale.ROOT,
        "scale: %d handler threads x %d us per worker, window %d per worker, %d sends in flight per"
            + " producer per worker, %d s measured per point; load average %.2f%n",
        s.concurrency(),
        s.workMicros(),
        s.concurrency() + s.prefetch(),
        s.outstanding(),
        s.seconds(),
        load);
    out.printf(
        Locale.ROOT,
        "%-10s %-8s %10s %10s %10s %12s  %s%n",
        "producers",
        "workers",
        "msg/s",
        "CPU µs/msg",
        "p99 ms",
        "max backlog",
        "shares");
    List<Point> all = new ArrayList<>(byProducers);
    byWorkers.stream().filter(p -> p.workers() > 1).forEach(all::add);
    for (Point p : all) {
      Result r = p.result();
      out.printf(
          Locale.ROOT,
          "%-10d %-8d %10.1f %10.1f %10.2f %12d  %s%n",
          p.producers(),
          p.workers(),
          r.throughput(),
          r.cpuUsPerMsg(),
          r.p99Ms(),
          r.maxBacklog(),
          r.shares().stream().map(x -> String.format(Locale.ROOT, "%.1f%%", 100 * x)).toList());
    }
    ObjectNode o = json(byProducers, byWorkers, load);
    out.printf(
        Locale.ROOT,
        "most producers / one: %s, most workers / one: %s (target >= %.1f)%n",
        o.get("max_producers_ratio"),
        o.get("max_workers_ratio"),
        SCALE_TARGET);
    Charts charts = new Charts(s.out());
    Map<String, Double> tp = new LinkedHashMap<>();
    byProducers.forEach(p -> tp.put(p.producers() + " producers", p.result().throughput()));
    byWorkers.stream()
        .filter(p -> p.workers() > 1)
        .forEach(p -> tp.put(p.workers() + " workers", p.result().throughput()));
    charts.bars("scale-throughput", "scale: Sluice throughput", "msg/s", tp);
    Map<String, Double> shares = new LinkedHashMap<>();
    Point most = byProducers.get(byProducers.size() - 1);
    List<Double> sh = most.result().shares();
    for (int i = 0; i < sh.size(); i++) {
      shares.put("producer " + (i + 1), 100 * sh.get(i));
    }
    charts.bars(
        "scale-shares",
        "scale: each producer's share with " + most.producers() + " producers",
        "%",
        shares);
    out.println("charts: " + charts.written());
    if (s.json()) {
      System.out.println(Json.line(o));
    }
  }
}
