package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundsTest {
  static Result result(String name, double throughput, double cpuJvm, long maxBacklog) {
    return new Result(
        name,
        15,
        (long) (throughput * 15),
        (long) (throughput * 15),
        0,
        throughput,
        maxBacklog,
        maxBacklog / 2.0,
        1500,
        1,
        2,
        3,
        cpuJvm,
        10,
        List.of(7L, 3L),
        List.of(new Result.Sample(0, maxBacklog)),
        Map.of("max_excess", maxBacklog - 200L));
  }

  @Test
  void alternatesThePipelinesRoundByRound() {
    // Running all raw passes first would give Sluice the warmer JIT every time.
    assertThat(Rounds.order(List.of("raw", "sluice"), 3))
        .containsExactly("raw", "sluice", "raw", "sluice", "raw", "sluice");
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(Rounds.median(List.of(9.0, 1.0, 5.0))).isEqualTo(5.0);
    assertThat(Rounds.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
  }

  @Test
  void medianResultTakesEachFigureMedianButTheLargestBacklog() {
    Result r =
        Rounds.medianResult(
            List.of(
                result("sluice", 100, 30, 150),
                result("sluice", 300, 10, 190),
                result("sluice", 200, 20, 170)));
    assertThat(r.throughput()).isEqualTo(200);
    assertThat(r.cpuJvmUsPerMsg()).isEqualTo(20);
    // A backlog bound holds at every sample of every pass, not at the median pass.
    assertThat(r.maxBacklog()).isEqualTo(190);
    assertThat(r.extra("max_excess")).isEqualTo(-10);
    assertThat(r.cpuUsPerMsg()).isCloseTo(30, within(1e-9));
  }

  @Test
  void cpuPartsAddUpToTheMedianTotal() {
    // Parts (jvm, server): (10, 50), (40, 10), (30, 40): totals 60, 50, 70, median 60. Medians of
    // the parts would give 30 + 40 = 70, a total that no pass had.
    Result a = withCpu(10, 50);
    Result b = withCpu(40, 10);
    Result c = withCpu(30, 40);
    Result r = Rounds.medianResult(List.of(a, b, c));
    assertThat(r.cpuUsPerMsg()).isEqualTo(60);
    assertThat(r.cpuJvmUsPerMsg()).isEqualTo(10);
    assertThat(r.cpuServerUsPerMsg()).isEqualTo(50);
  }

  @Test
  void allocationIsTheMedianOfThePassesNotThatOfTheMedianThroughputPass() {
    // Throughputs 100, 200, 300: the median-throughput pass allocated 9000, an outlier.
    Result a = withAlloc(result("raw", 100, 20, 10), 5000L);
    Result b = withAlloc(result("raw", 200, 20, 10), 9000L);
    Result c = withAlloc(result("raw", 300, 20, 10), 6000L);
    assertThat(Rounds.medianResult(List.of(a, b, c)).extra("alloc_bytes_per_msg")).isEqualTo(6000);
    // Passes that could not tell (no per-thread counters) are left out, not counted as 0.
    Result d = result("raw", 400, 20, 10);
    assertThat(Rounds.medianResult(List.of(a, c, d)).extra("alloc_bytes_per_msg")).isEqualTo(5500);
    assertThat(Rounds.medianResult(List.of(d, d)).extras())
        .doesNotContainKey("alloc_bytes_per_msg");
  }

  private static Result withAlloc(Result x, long bytes) {
    java.util.Map<String, Object> extras = new java.util.LinkedHashMap<>(x.extras());
    extras.put("alloc_bytes_per_msg", bytes);
    return new Result(
        x.pipeline(),
        x.seconds(),
        x.handled(),
        x.sent(),
        x.failed(),
        x.throughput(),
        x.maxBacklog(),
        x.meanBacklog(),
        x.backlogSamples(),
        x.p50Ms(),
        x.p99Ms(),
        x.p999Ms(),
        x.cpuJvmUsPerMsg(),
        x.cpuServerUsPerMsg(),
        x.producerSent(),
        x.backlog(),
        extras);
  }

  private static Result withCpu(double jvm, double server) {
    Result x = result("raw", 100, jvm, 10);
    return new Result(
        x.pipeline(),
        x.seconds(),
        x.handled(),
        x.sent(),
        x.failed(),
        x.throughput(),
        x.maxBacklog(),
        x.meanBacklog(),
        x.backlogSamples(),
        x.p50Ms(),
        x.p99Ms(),
        x.p999Ms(),
        jvm,
        server,
        x.producerSent(),
        x.backlog(),
        x.extras());
  }

  @Test
  void sharesSumToOne() {
    assertThat(result("sluice", 1, 1, 1).shares()).containsExactly(0.7, 0.3);
  }

  @Test
  void thinningKeepsEachStridesPeak() {
    List<long[]> samples = new java.util.ArrayList<>();
    for (int i = 0; i < 1200; i++) {
      samples.add(new long[] {i * 10_000_000L, i == 601 ? 9999 : i % 7});
    }
    List<Result.Sample> thin = Driver.thin(samples, 0);
    assertThat(thin).hasSize(600);
    // A spike must survive thinning, or the chart would hide the backlog's worst moment.
    assertThat(thin.stream().mapToLong(Result.Sample::backlog).max().getAsLong()).isEqualTo(9999);
  }
}
