package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The --json shape of {@code scripts/bench fairness} (docs/CONTROL.md), from made-up runs. */
class FairnessJsonTest {
  static Histogram ms(long... values) {
    Histogram h = new Histogram(3_600_000_000L, 3);
    for (long v : values) {
      h.recordValue(v * 1000);
    }
    return h;
  }

  static FairnessBench.Run run(long quietMs, long floodMs, long quietN, long floodN, double tput) {
    Map<String, Histogram> lat = new LinkedHashMap<>();
    lat.put("quiet-a", ms(quietMs));
    lat.put("quiet-b", ms(quietMs));
    Map<String, Long> n = new LinkedHashMap<>();
    n.put("quiet-a", quietN);
    n.put("quiet-b", quietN);
    if (floodN > 0) {
      lat.put("flood", ms(floodMs));
      n.put("flood", floodN);
    }
    return new FairnessBench.Run(lat, n, tput, 32);
  }

  @Test
  void hasTheIssuesShapeAndComputesTheTargets() throws Exception {
    Map<String, FairnessBench.Run> runs = new LinkedHashMap<>();
    for (String setup : new String[] {"shared_producer", "producer_per_key"}) {
      runs.put(setup + "/solo", run(20, 0, 100, 0, 160));
      runs.put(setup + "/fair", run(60, 5000, 100, 600, 800));
      runs.put(setup + "/unfair", run(5000, 5000, 100, 600, 800));
    }
    Map<String, Histogram> wl = new LinkedHashMap<>();
    Map<String, Long> wn = new LinkedHashMap<>();
    wn.put("heavy", 600L);
    wn.put("light", 200L);
    runs.put("weighted", new FairnessBench.Run(wl, wn, 800, 32));
    JsonNode j = Json.MAPPER.readTree(Json.line(FairnessBench.report(runs)));
    assertThat(j.get("budget_ms").asDouble()).isEqualTo(40); // 32 / 800 per s
    for (String setup : new String[] {"shared_producer", "producer_per_key"}) {
      JsonNode x = j.get(setup);
      assertThat(x.get("quiet_p99_ms").asDouble()).isEqualTo(60);
      assertThat(x.get("quiet_solo_p99_ms").asDouble()).isEqualTo(20);
      assertThat(x.get("quiet_p99_unfair_ms").asDouble()).isBetween(4990.0, 5010.0);
      assertThat(x.get("flood_share").asDouble()).isEqualTo(0.75);
      assertThat(x.get("met").asBoolean()).isTrue(); // 60 <= 1.2 x (20 + 40)
    }
    assertThat(j.get("weighted").get("share_ratio").asDouble()).isEqualTo(3);
    assertThat(j.get("throughput_ratio").asDouble()).isEqualTo(1);
    assertThat(j.get("targets_met").asBoolean()).isTrue();
  }
}
