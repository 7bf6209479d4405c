package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code cluster}: the slow-workers and credit-overhead workloads, raw and Sluice, on a 3-node
 * nats-server cluster ({@code --server} lists the three nodes, {@code --server-pid} their pids),
 * with the streams at each of {@code --replicas} (R1 and R3). One pass each after a discarded pass
 * that warms the JIT up. Sluice's shared streams and buckets take the replicas of the queue
 * provisioned last, so R1 runs first, then R3.
 */
final class ClusterBench {
  static final List<String> WORKLOADS = List.of(Settings.SLOW_WORKERS, Settings.CREDIT_OVERHEAD);

  private final Settings s;
  private final Progress progress;
  private final String id;

  ClusterBench(Settings s, Progress progress, String id) {
    this.s = s;
    this.progress = progress;
    this.id = id;
  }

  int run() throws Exception {
    Settings fast = s.forWorkload(Settings.CREDIT_OVERHEAD);
    int n = 0;
    new Driver(fast, progress)
        .run(new SluicePipeline(fast, "bench-" + id + "-w", 1, 1, 1), s.warmupSeconds(), 3);
    Map<String, Result> results = new LinkedHashMap<>(); // "slow-workers/R3/sluice"
    for (int r : s.replicas()) {
      for (String workload : WORKLOADS) {
        Settings ws = s.forWorkload(workload);
        Driver d = new Driver(ws, progress);
        for (String pipeline : List.of("raw", "sluice")) {
          String pid = id + "-" + n++;
          Pipeline p =
              pipeline.equals("raw")
                  ? new RawPipeline(ws, pid, r)
                  : new SluicePipeline(ws, "bench-" + pid, 1, 1, r);
          results.put(key(workload, r, pipeline), d.run(p, s.rewarmSeconds(), s.seconds()));
        }
      }
    }
    report(results);
    return 0;
  }

  static String key(String workload, int replicas, String pipeline) {
    return workload + "/R" + replicas + "/" + pipeline;
  }

  /**
   * {@code {"slow-workers": {"R1": {"raw": {...}, "sluice": {...}, "ratio"}, "R3": ...},
   * "credit-overhead": ...}}.
   */
  static ObjectNode json(Map<String, Result> results, List<Integer> replicas) {
    ObjectNode o = Json.object();
    for (String workload : WORKLOADS) {
      ObjectNode w = o.putObject(workload);
      for (int r : replicas) {
        Result raw = results.get(key(workload, r, "raw"));
        Result sluice = results.get(key(workload, r, "sluice"));
        if (raw == null || sluice == null) {
          continue;
        }
        ObjectNode x = w.putObject("R" + r);
        x.set("raw", Json.latency(raw));
        x.set("sluice", Json.latency(sluice));
        x.put("ratio", Json.round(Json.ratio(sluice.throughput(), raw.throughput()), 3));
        x.put("cpu_ratio", Json.round(Json.ratio(sluice.cpuUsPerMsg(), raw.cpuUsPerMsg()), 3));
      }
    }
    return o;
  }

  private void report(Map<String, Result> results) {
    double load = Json.loadAverage();
    PrintStream out = s.json() ? System.err : System.out;
    out.printf(
        Locale.ROOT,
        "cluster: 3 nodes, %d s measured per pass, one pass each; CPU = this JVM + all three"
            + " servers; load average %.2f%n",
        s.seconds(),
        load);
    out.printf(
        Locale.ROOT,
        "%-32s %10s %10s %12s %10s%n",
        "",
        "msg/s",
        "CPU µs/msg",
        "max backlog",
        "p99 ms");
    Map<String, Double> tput = new LinkedHashMap<>();
    results.forEach(
        (k, r) -> {
          out.printf(
              Locale.ROOT,
              "%-32s %10.1f %10.1f %12d %10.2f%n",
              k,
              r.throughput(),
              r.cpuUsPerMsg(),
              r.maxBacklog(),
              r.p99Ms());
          tput.put(
              k.replace(Settings.SLOW_WORKERS, "slow").replace(Settings.CREDIT_OVERHEAD, "fast"),
              r.throughput());
        });
    Charts charts = new Charts(s.out());
    charts.bars("cluster-throughput", "cluster: throughput, R1 and R3", "msg/s", tput);
    Map<String, List<Result.Sample>> backlog = new LinkedHashMap<>();
    for (int r : s.replicas()) {
      for (String pipeline : List.of("raw", "sluice")) {
        Result x = results.get(key(Settings.SLOW_WORKERS, r, pipeline));
        if (x != null) {
          backlog.put(pipeline + " R" + r, x.backlog());
        }
      }
    }
    charts.backlog("cluster-backlog", "cluster: slow-workers backlog, R1 and R3", backlog);
    out.println("charts: " + charts.written());
    if (s.json()) {
      ObjectNode o = json(results, s.replicas());
      o.put("load_average", Json.round(load, 2));
      System.out.println(Json.line(o));
    }
  }
}
