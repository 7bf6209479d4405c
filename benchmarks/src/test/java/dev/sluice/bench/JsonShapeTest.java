package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The --json shapes that docs/BENCHMARKS.md documents and scripts read. */
class JsonShapeTest {
  private static JsonNode parse(com.fasterxml.jackson.databind.node.ObjectNode o) throws Exception {
    return Json.MAPPER.readTree(Json.line(o));
  }

  @Test
  void creditOverheadKeepsItsOldFieldsAndAddsCpu() throws Exception {
    Result raw = RoundsTest.result("raw", 30000, 20, 1000);
    Result sluice = RoundsTest.result("sluice", 24000, 40, 900);
    JsonNode j = parse(Comparison.creditOverheadJson(raw, sluice));
    assertThat(j.get("raw").get("throughput").asDouble()).isEqualTo(30000);
    assertThat(j.get("sluice").has("credit_msgs_per_msg")).isTrue();
    assertThat(j.get("ratio").asDouble()).isEqualTo(0.8);
    // (40 + 10) / (20 + 10): JVM and server together.
    assertThat(j.get("cpu_ratio").asDouble()).isEqualTo(1.667);
    assertThat(j.get("sluice").get("cpu_us_per_msg").asDouble()).isEqualTo(50);
  }

  @Test
  void creditOverheadWithTheFloorAddsThePipelinesAndTheirDifferences() throws Exception {
    Map<String, Result> r = new LinkedHashMap<>();
    r.put("raw", RoundsTest.result("raw", 40000, 15, 1000));
    r.put("raw-id", RoundsTest.result("raw-id", 38000, 16, 1000));
    r.put("raw-wire", RoundsTest.result("raw-wire", 36000, 19, 1000));
    r.put("raw-compact", RoundsTest.result("raw-compact", 37000, 17.5, 1000));
    r.put("sluice", RoundsTest.result("sluice", 27000, 32, 900));
    com.fasterxml.jackson.databind.node.ObjectNode o =
        Comparison.creditOverheadJson(r.get("raw"), r.get("sluice"));
    Floor.addTo(o, r);
    JsonNode j = parse(o);
    // The former shape stays as it was.
    assertThat(j.get("raw").get("throughput").asDouble()).isEqualTo(40000);
    assertThat(j.get("sluice").has("credit_msgs_per_msg")).isTrue();
    assertThat(j.get("cpu_ratio").asDouble()).isEqualTo(1.68);
    for (String p : List.of("raw_id", "raw_wire", "raw_compact")) {
      assertThat(j.get(p).has("cpu_us_per_msg")).as(p).isTrue();
      assertThat(j.get(p).has("cpu_jvm_us_per_msg")).as(p).isTrue();
      assertThat(j.get(p).has("cpu_server_us_per_msg")).as(p).isTrue();
    }
    assertThat(j.get("raw_wire").get("throughput").asDouble()).isEqualTo(36000);
    JsonNode f = j.get("floor");
    assertThat(f.get("id_overhead").get("cpu_us_per_msg").asDouble()).isEqualTo(1);
    assertThat(f.get("wire_overhead").get("cpu_us_per_msg").asDouble()).isEqualTo(4);
    assertThat(f.get("wire_overhead").get("cpu_server_us_per_msg").asDouble()).isEqualTo(0);
    assertThat(f.get("compact_saving").get("cpu_us_per_msg").asDouble()).isEqualTo(1.5);
    assertThat(f.get("implementation_overhead").get("cpu_jvm_us_per_msg").asDouble()).isEqualTo(13);
    assertThat(f.get("sluice_vs_wire_ratio").asDouble()).isEqualTo(0.75);
    assertThat(f.get("sluice_vs_wire_cpu_ratio").asDouble()).isEqualTo(1.448);
  }

  @Test
  void passesCarryTheCpuSplitAndTheAllocationWhenKnown() throws Exception {
    Result known = RoundsTest.result("sluice", 24000, 40, 900);
    Map<String, Object> extras = new LinkedHashMap<>(known.extras());
    extras.put("alloc_bytes_per_msg", 17000L);
    Result withAlloc =
        new Result(
            known.pipeline(),
            known.seconds(),
            known.handled(),
            known.sent(),
            known.failed(),
            known.throughput(),
            known.maxBacklog(),
            known.meanBacklog(),
            known.backlogSamples(),
            known.p50Ms(),
            known.p99Ms(),
            known.p999Ms(),
            known.cpuJvmUsPerMsg(),
            known.cpuServerUsPerMsg(),
            known.producerSent(),
            known.backlog(),
            extras);
    JsonNode passes =
        Json.MAPPER.readTree(
            Json.MAPPER.writeValueAsString(
                Json.passes(List.of(RoundsTest.result("raw", 30000, 20, 1000), withAlloc))));
    assertThat(passes.get(0).get("cpu_jvm_us_per_msg").asDouble()).isEqualTo(20);
    assertThat(passes.get(0).get("cpu_server_us_per_msg").asDouble()).isEqualTo(10);
    assertThat(passes.get(0).has("alloc_bytes_per_msg")).isFalse();
    assertThat(passes.get(1).get("alloc_bytes_per_msg").asLong()).isEqualTo(17000);
    assertThat(parse(Json.throughputCpu(withAlloc)).get("alloc_bytes_per_msg").asLong())
        .isEqualTo(17000);
  }

  @Test
  void slowWorkersSplitsSluicesLatencyAtThePublishWhenMeasured() throws Exception {
    Stats stats = new Stats();
    stats.measure(true);
    long now = System.currentTimeMillis();
    for (int i = 0; i < 100; i++) {
      stats.handled(Stats.payload(16), now - 40); // published 40 ms ago (or a little more)
    }
    assertThat(stats.fromPublishMs(50)).isBetween(40.0, 1000.0);
    Result known = RoundsTest.result("sluice", 4900, 30, 190);
    Map<String, Object> extras = new LinkedHashMap<>(known.extras());
    extras.put("p50_from_publish_ms", stats.fromPublishMs(50));
    extras.put("p99_from_publish_ms", stats.fromPublishMs(99));
    Result split = withExtras(known, extras);
    JsonNode j = parse(Comparison.slowWorkersJson(RoundsTest.result("raw", 5000, 20, 4000), split));
    assertThat(j.get("sluice").get("p99_from_publish_ms").asDouble()).isBetween(40.0, 1000.0);
    assertThat(j.get("raw").has("p99_from_publish_ms")).isFalse();
    assertThat(new Stats().fromPublishMs(99)).isEqualTo(-1);
  }

  @Test
  void passesSayHowMuchTheJitCompiledWhileMeasuring() throws Exception {
    Result known = RoundsTest.result("sluice", 24000, 40, 900);
    Map<String, Object> extras = new LinkedHashMap<>(known.extras());
    extras.put("jit_ms_per_s", 12.345);
    extras.put("jit_settle_s", 4L);
    extras.put("gc_ms_per_s", 7.06);
    JsonNode passes =
        Json.MAPPER.readTree(
            Json.MAPPER.writeValueAsString(
                Json.passes(
                    List.of(
                        RoundsTest.result("raw", 30000, 20, 1000), withExtras(known, extras)))));
    assertThat(passes.get(0).has("jit_ms_per_s")).isFalse();
    assertThat(passes.get(1).get("jit_ms_per_s").asDouble()).isEqualTo(12.3);
    assertThat(passes.get(1).get("jit_settle_s").asLong()).isEqualTo(4);
    assertThat(passes.get(1).get("gc_ms_per_s").asDouble()).isEqualTo(7.1);
    assertThat(JitClock.gcMillis()).isGreaterThanOrEqualTo(-1);
    assertThat(JitClock.settled(5, 19)).isTrue();
    assertThat(JitClock.settled(5, 21)).isFalse();
    assertThat(JitClock.millis()).isGreaterThanOrEqualTo(-1);
  }

  private static Result withExtras(Result r, Map<String, Object> extras) {
    return new Result(
        r.pipeline(),
        r.seconds(),
        r.handled(),
        r.sent(),
        r.failed(),
        r.throughput(),
        r.maxBacklog(),
        r.meanBacklog(),
        r.backlogSamples(),
        r.p50Ms(),
        r.p99Ms(),
        r.p999Ms(),
        r.cpuJvmUsPerMsg(),
        r.cpuServerUsPerMsg(),
        r.producerSent(),
        r.backlog(),
        extras);
  }

  @Test
  void slowWorkersKeepsItsOldFields() throws Exception {
    JsonNode j =
        parse(
            Comparison.slowWorkersJson(
                RoundsTest.result("raw", 5000, 20, 400000),
                RoundsTest.result("sluice", 4900, 30, 190)));
    for (String f :
        List.of("throughput", "max_backlog", "mean_backlog", "p50_ms", "p99_ms", "p999_ms")) {
      assertThat(j.get("raw").has(f)).as(f).isTrue();
      assertThat(j.get("sluice").has(f)).as(f).isTrue();
    }
    assertThat(j.get("sluice").has("window")).isTrue();
    assertThat(j.get("sluice").has("slack")).isTrue();
    assertThat(j.get("raw").get("max_backlog").asLong()).isEqualTo(400000);
  }

  @Test
  void rabbitmqHasTheIssuesShape() throws Exception {
    Map<String, Result> fast = new LinkedHashMap<>();
    fast.put("rabbitmq", RoundsTest.result("rabbitmq", 20000, 20, 1000));
    fast.put("sluice", RoundsTest.result("sluice", 25000, 30, 1000));
    Map<String, Result> slow = new LinkedHashMap<>();
    slow.put("sluice", RoundsTest.result("sluice", 5000, 30, 190));
    slow.put("rabbitmq", RoundsTest.result("rabbitmq", 5000, 30, 300000));
    JsonNode j = parse(RabbitBench.json(fast, slow));
    assertThat(j.get("fast").get("ratio").asDouble()).isEqualTo(1.25);
    assertThat(j.get("fast").get("rabbitmq").has("throughput")).isTrue();
    assertThat(j.get("slow").get("rabbitmq").get("max_depth").asLong()).isEqualTo(300000);
    assertThat(j.get("slow").get("sluice").get("max_backlog").asLong()).isEqualTo(190);
    assertThat(j.get("slow").get("rabbitmq").has("p99_ms")).isTrue();
  }

  @Test
  void scaleListsEachPointWithShares() throws Exception {
    List<Scale.Point> byP =
        List.of(
            new Scale.Point(1, 1, RoundsTest.result("sluice", 5000, 30, 190)),
            new Scale.Point(8, 1, RoundsTest.result("sluice", 4600, 30, 190)));
    List<Scale.Point> byW =
        List.of(byP.get(0), new Scale.Point(1, 8, RoundsTest.result("sluice", 20000, 30, 190)));
    JsonNode j = parse(Scale.json(byP, byW, 1.0));
    assertThat(j.get("producers").get(1).get("producers").asInt()).isEqualTo(8);
    assertThat(j.get("producers").get(1).get("shares")).hasSize(2);
    assertThat(j.get("max_producers_ratio").asDouble()).isEqualTo(0.92);
    assertThat(j.get("max_workers_ratio").asDouble()).isEqualTo(4.0);
  }

  @Test
  void errorsSayWhatToDoNext() throws Exception {
    JsonNode j = Json.MAPPER.readTree(Json.error("scale", "boom \"x\"", "rerun"));
    assertThat(j.get("error").asText()).isEqualTo("boom \"x\"");
    assertThat(j.get("next").asText()).isEqualTo("rerun");
  }

  @Test
  void unknownCpuIsMinusOneNotAFigure() {
    // A /proc that cannot be read must not show as 0 µs (which would flatter a pipeline).
    assertThat(CpuMeter.Usage.perMsg(-1, 100)).isEqualTo(-1);
    assertThat(CpuMeter.Usage.perMsg(500, 100)).isEqualTo(5);
  }
}
