package dev.sluice.bench;

import java.util.Map;

/** The figures of one pipeline's measured period. */
record Result(
    String pipeline,
    double seconds,
    long handled,
    long sent,
    long failed,
    double throughput,
    long maxBacklog,
    double meanBacklog,
    long backlogSamples,
    double p50Ms,
    double p99Ms,
    double p999Ms,
    Map<String, Object> extras) {

  long extra(String key) {
    Object v = extras.get(key);
    return v instanceof Number n ? n.longValue() : 0;
  }
}
