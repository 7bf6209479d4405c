package dev.sluice.bench;

import java.util.List;
import java.util.Map;

/**
 * The figures of one pipeline's measured period.
 *
 * @param cpuJvmUsPerMsg CPU µs per handled message of this JVM (producers, workers, monitor); -1
 *     when /proc could not be read
 * @param cpuServerUsPerMsg the same for the broker process(es); -1 when unknown
 * @param producerSent messages each producer had stored during the period, in producer order
 * @param backlog backlog samples of the period, thinned for plotting
 */
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
    double cpuJvmUsPerMsg,
    double cpuServerUsPerMsg,
    List<Long> producerSent,
    List<Sample> backlog,
    Map<String, Object> extras) {

  /** One backlog reading, {@code t} seconds into the measured period. */
  record Sample(double t, long backlog) {}

  long extra(String key) {
    Object v = extras.get(key);
    return v instanceof Number n ? n.longValue() : 0;
  }

  /** JVM + broker CPU µs per message, or -1 when either is unknown. */
  double cpuUsPerMsg() {
    return cpuJvmUsPerMsg < 0 || cpuServerUsPerMsg < 0 ? -1 : cpuJvmUsPerMsg + cpuServerUsPerMsg;
  }

  /** Each producer's share of the messages stored in the period (sums to 1). */
  List<Double> shares() {
    long total = producerSent.stream().mapToLong(Long::longValue).sum();
    return producerSent.stream().map(n -> total == 0 ? 0.0 : (double) n / total).toList();
  }
}
