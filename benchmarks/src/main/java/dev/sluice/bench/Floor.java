package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The wire floor of {@code credit-overhead --floor}: the raw pipeline with Sluice's headers and
 * without, beside Sluice, so that Sluice's CPU per message splits into what the wire costs (any
 * implementation of the protocol pays it) and what the implementation costs:
 *
 * <ul>
 *   <li>id overhead = raw-id − raw (JetStream's de-duplication of {@code Nats-Msg-Id});
 *   <li>wire overhead = raw-wire − raw (the whole header block, id included);
 *   <li>compact saving = raw-wire − raw-compact (what one packed header would save);
 *   <li>implementation overhead = sluice − raw-wire (credits, hand-offs, per-message objects,
 *       validation, idempotency, trace context, metrics).
 * </ul>
 *
 * Each is a difference of the pipelines' medians in one run (CPU: JVM + server; allocation: JVM).
 */
final class Floor {
  /** The order of a round with the floor: raw, its variants, then Sluice. */
  static final List<String> PIPELINES =
      List.of("raw", "raw-id", "raw-wire", "raw-compact", "sluice");

  private Floor() {}

  /** The CPU figures of each floor pipeline and the four differences. */
  static void summary(PrintStream out, Map<String, Result> r) {
    for (String p : PIPELINES) {
      Result x = r.get(p);
      out.printf(
          Locale.ROOT,
          "  %-12s %10.1f msg/s  %7.2f µs/msg (JVM %.2f + server %.2f)  %s B/msg%n",
          p,
          x.throughput(),
          x.cpuUsPerMsg(),
          x.cpuJvmUsPerMsg(),
          x.cpuServerUsPerMsg(),
          x.extras().getOrDefault("alloc_bytes_per_msg", "?"));
    }
    out.printf(
        Locale.ROOT,
        "floor, µs/msg (JVM + server): id overhead %+.2f, wire overhead %+.2f, compact saving"
            + " %+.2f, implementation overhead %+.2f; sluice/raw-wire throughput %.3f, CPU %.3f%n",
        diff(r, "raw-id", "raw"),
        diff(r, "raw-wire", "raw"),
        diff(r, "raw-wire", "raw-compact"),
        diff(r, "sluice", "raw-wire"),
        Json.ratio(r.get("sluice").throughput(), r.get("raw-wire").throughput()),
        Json.ratio(r.get("sluice").cpuUsPerMsg(), r.get("raw-wire").cpuUsPerMsg()));
    double ratio = Json.ratio(r.get("sluice").throughput(), r.get("raw-wire").throughput());
    double cpuRatio = Json.ratio(r.get("sluice").cpuUsPerMsg(), r.get("raw-wire").cpuUsPerMsg());
    out.printf(
        Locale.ROOT,
        "throughput sluice/raw-wire %.3f (target >= %.2f): %s%n",
        ratio,
        Comparison.OVERHEAD_RATIO_TARGET,
        Comparison.verdict(ratio >= Comparison.OVERHEAD_RATIO_TARGET));
    out.printf(
        Locale.ROOT,
        "CPU per message sluice/raw-wire %.3f (target <= %.2f): %s%n",
        cpuRatio,
        Comparison.OVERHEAD_CPU_RATIO_TARGET,
        Comparison.verdict(cpuRatio >= 0 && cpuRatio <= Comparison.OVERHEAD_CPU_RATIO_TARGET));
  }

  private static double diff(Map<String, Result> r, String a, String b) {
    return r.get(a).cpuUsPerMsg() - r.get(b).cpuUsPerMsg();
  }

  /**
   * Adds {@code raw_id}, {@code raw_wire}, {@code raw_compact} (each as {@code raw}) and {@code
   * floor} to a credit-overhead result.
   */
  static void addTo(ObjectNode o, Map<String, Result> r) {
    for (String p : List.of("raw-id", "raw-wire", "raw-compact")) {
      ObjectNode x = Json.throughputCpu(r.get(p));
      if (r.get(p).extras().get("unreadable_headers") instanceof Number n) {
        x.put("unreadable_headers", n.longValue());
      }
      o.set(p.replace('-', '_'), x);
    }
    ObjectNode f = o.putObject("floor");
    f.set("id_overhead", difference(r.get("raw-id"), r.get("raw")));
    f.set("wire_overhead", difference(r.get("raw-wire"), r.get("raw")));
    f.set("compact_saving", difference(r.get("raw-wire"), r.get("raw-compact")));
    f.set("implementation_overhead", difference(r.get("sluice"), r.get("raw-wire")));
    f.put(
        "sluice_vs_wire_ratio",
        Json.round(Json.ratio(r.get("sluice").throughput(), r.get("raw-wire").throughput()), 3));
    f.put(
        "sluice_vs_wire_cpu_ratio",
        Json.round(Json.ratio(r.get("sluice").cpuUsPerMsg(), r.get("raw-wire").cpuUsPerMsg()), 3));
  }

  /** {@code a − b}: CPU per message (total, JVM, server) and, when both know it, allocation. */
  static ObjectNode difference(Result a, Result b) {
    ObjectNode o = Json.object();
    o.put("cpu_us_per_msg", Json.round(a.cpuUsPerMsg() - b.cpuUsPerMsg(), 2));
    o.put("cpu_jvm_us_per_msg", Json.round(a.cpuJvmUsPerMsg() - b.cpuJvmUsPerMsg(), 2));
    o.put("cpu_server_us_per_msg", Json.round(a.cpuServerUsPerMsg() - b.cpuServerUsPerMsg(), 2));
    if (a.extras().get("alloc_bytes_per_msg") instanceof Number x
        && b.extras().get("alloc_bytes_per_msg") instanceof Number y) {
      o.put("alloc_bytes_per_msg", x.longValue() - y.longValue());
    }
    return o;
  }
}
