package dev.sluice.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Alternation and medians. Pipelines compared in one run take turns (raw, sluice, raw, sluice, ...)
 * so that neither always runs on the warmer JIT or the quieter minute, and each figure reported is
 * the median of its passes.
 */
final class Rounds {
  private Rounds() {}

  /** The order of passes: every pipeline once per round, in the order given. */
  static List<String> order(List<String> pipelines, int rounds) {
    List<String> out = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      out.addAll(pipelines);
    }
    return out;
  }

  /** The median (the mean of the middle two for an even count). */
  static double median(List<Double> values) {
    if (values.isEmpty()) {
      throw new IllegalArgumentException("median of no values");
    }
    List<Double> v = values.stream().sorted().toList();
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }

  private static double median(List<Result> passes, ToDoubleFunction<Result> f) {
    return median(passes.stream().map(f::applyAsDouble).toList());
  }

  /**
   * One result whose figures are each the median over {@code passes} (same pipeline), except the
   * CPU figures, taken from the pass with the median total CPU per message, and the largest
   * backlog, which is the largest of all passes (a bound holds at every sample or not at all), and
   * the allocation per message, the median of the passes that know it; the backlog series, counts
   * and other extras are those of the pass with the median throughput.
   */
  static Result medianResult(List<Result> passes) {
    if (passes.size() == 1) {
      return passes.get(0);
    }
    List<Result> byThroughput =
        passes.stream().sorted(Comparator.comparingDouble(Result::throughput)).toList();
    Result mid = byThroughput.get((passes.size() - 1) / 2);
    // JVM and server CPU from the one pass whose total is the median, so that the two parts add
    // up to the total reported (medians of the parts need not).
    Result cpu =
        passes.stream()
            .sorted(Comparator.comparingDouble(Result::cpuUsPerMsg))
            .toList()
            .get((passes.size() - 1) / 2);
    Map<String, Object> extras = new LinkedHashMap<>(mid.extras());
    passes.stream()
        .filter(r -> r.extras().containsKey("max_excess"))
        .mapToLong(r -> r.extra("max_excess"))
        .max()
        .ifPresent(x -> extras.put("max_excess", x));
    List<Double> alloc =
        passes.stream()
            .filter(r -> r.extras().get("alloc_bytes_per_msg") instanceof Number)
            .map(r -> ((Number) r.extras().get("alloc_bytes_per_msg")).doubleValue())
            .toList();
    if (!alloc.isEmpty()) {
      extras.put("alloc_bytes_per_msg", Math.round(median(alloc)));
    }
    passes.stream()
        .filter(r -> r.extras().containsKey("window"))
        .mapToLong(r -> r.extra("window"))
        .max()
        .ifPresent(x -> extras.put("window", x));
    return new Result(
        mid.pipeline(),
        mid.seconds(),
        mid.handled(),
        mid.sent(),
        mid.failed(),
        median(passes, Result::throughput),
        passes.stream().mapToLong(Result::maxBacklog).max().orElse(0),
        median(passes, Result::meanBacklog),
        mid.backlogSamples(),
        median(passes, Result::p50Ms),
        median(passes, Result::p99Ms),
        median(passes, Result::p999Ms),
        cpu.cpuJvmUsPerMsg(),
        cpu.cpuServerUsPerMsg(),
        mid.producerSent(),
        mid.backlog(),
        extras);
  }
}
