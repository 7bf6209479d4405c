package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.credit.FairQueue;
import dev.sluice.internal.wire.HeaderCheck;
import io.nats.client.support.JsonValue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The fairness vectors (protocol §15.3): the key format ({@code headers.json} {@code fairness_key})
 * and the grant order ({@code credits.json} {@code fairness}).
 */
class FairnessVectorsTest {
  @Test
  void keyFormat() throws Exception {
    List<JsonValue> cases = load("headers.json").map.get("fairness_key").array;
    assertThat(cases).hasSizeGreaterThan(5);
    for (JsonValue c : cases) {
      assertThat(HeaderCheck.fairnessKey(c.map.get("key").string))
          .as(c.map.get("name").string)
          .isEqualTo(c.map.get("valid").bool);
    }
  }

  @Test
  void grantOrder() throws Exception {
    List<JsonValue> cases = load("credits.json").map.get("fairness").array;
    assertThat(cases).hasSizeGreaterThan(3);
    for (JsonValue c : cases) {
      Map<String, Integer> weights = new HashMap<>();
      c.map.get("weights").map.forEach((k, w) -> weights.put(k, w.number.intValue()));
      FairQueue<String> q = new FairQueue<>(k -> weights.getOrDefault(k, 1));
      for (JsonValue k : c.map.get("arrivals").array) {
        q.add(k.string, k.string);
      }
      List<String> got = new ArrayList<>();
      for (int i = 0; i < c.map.get("grants").number.intValue(); i++) {
        String k = q.poll();
        if (k == null) {
          break;
        }
        got.add(k);
      }
      List<String> want = c.map.get("order").array.stream().map(x -> x.string).toList();
      assertThat(got).as(c.map.get("name").string).isEqualTo(want);
    }
  }
}
