package dev.sluice.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/** The JSON results of {@code --json}: one object, printed as the last line of stdout. */
final class Json {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /** {@code value} rounded to {@code places} decimals, so the line stays readable. */
  static BigDecimal round(double value, int places) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return BigDecimal.valueOf(-1);
    }
    return BigDecimal.valueOf(value).setScale(places, RoundingMode.HALF_UP).stripTrailingZeros();
  }

  /** Sluice / other, or -1 when the other is zero or unknown. */
  static double ratio(double sluice, double other) {
    return other <= 0 || sluice < 0 ? -1 : sluice / other;
  }

  /** Throughput and CPU per message (JVM, broker and their sum; -1 = could not be read). */
  static ObjectNode throughputCpu(Result r) {
    ObjectNode o = object();
    o.put("throughput", round(r.throughput(), 1));
    o.put("cpu_us_per_msg", round(r.cpuUsPerMsg(), 2));
    o.put("cpu_jvm_us_per_msg", round(r.cpuJvmUsPerMsg(), 2));
    o.put("cpu_server_us_per_msg", round(r.cpuServerUsPerMsg(), 2));
    o.put("handled", r.handled());
    putAlloc(o, r);
    return o;
  }

  /** {@code alloc_bytes_per_msg}: what this JVM allocated per message, when it could tell. */
  private static void putAlloc(ObjectNode o, Result r) {
    if (r.extras().get("alloc_bytes_per_msg") instanceof Number n) {
      o.put("alloc_bytes_per_msg", n.longValue());
    }
  }

  /** {@link #throughputCpu} plus the backlog and the end-to-end latency percentiles. */
  static ObjectNode latency(Result r) {
    ObjectNode o = throughputCpu(r);
    o.put("max_backlog", r.maxBacklog());
    o.put("mean_backlog", round(r.meanBacklog(), 1));
    o.put("p50_ms", round(r.p50Ms(), 3));
    o.put("p99_ms", round(r.p99Ms(), 3));
    o.put("p999_ms", round(r.p999Ms(), 3));
    for (String k : new String[] {"p50_from_publish_ms", "p99_from_publish_ms"}) {
      if (r.extras().get(k) instanceof Number n) {
        o.put(k, round(n.doubleValue(), 3));
      }
    }
    return o;
  }

  /** Each pass's throughput and CPU per message, in the order they ran. */
  static ArrayNode passes(List<Result> passes) {
    ArrayNode a = MAPPER.createArrayNode();
    for (Result r : passes) {
      ObjectNode o = a.addObject();
      o.put("pipeline", r.pipeline());
      o.put("throughput", round(r.throughput(), 1));
      o.put("cpu_us_per_msg", round(r.cpuUsPerMsg(), 2));
      o.put("cpu_jvm_us_per_msg", round(r.cpuJvmUsPerMsg(), 2));
      o.put("cpu_server_us_per_msg", round(r.cpuServerUsPerMsg(), 2));
      putAlloc(o, r);
      if (r.extras().get("jit_ms_per_s") instanceof Number n) {
        o.put("jit_ms_per_s", round(n.doubleValue(), 1));
        o.put("jit_settle_s", ((Number) r.extras().get("jit_settle_s")).longValue());
      }
      if (r.extras().get("gc_ms_per_s") instanceof Number n) {
        o.put("gc_ms_per_s", round(n.doubleValue(), 1));
      }
    }
    return a;
  }

  /** The host's 1-minute load average, or -1 where the JVM cannot read it. */
  static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** A failure as JSON: what went wrong and what to do next. */
  static String error(String benchmark, String message, String next) {
    ObjectNode o = object();
    o.put("benchmark", benchmark);
    o.put("error", message);
    o.put("next", next);
    return line(o);
  }

  static String line(ObjectNode o) {
    try {
      return MAPPER.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
