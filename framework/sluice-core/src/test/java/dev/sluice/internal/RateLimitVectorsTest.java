package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.internal.credit.RateGate;
import dev.sluice.internal.credit.Rates;
import io.nats.client.support.JsonValue;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** credits.json {@code rate_limit}: the share, the window and the bucket of §15.2. */
class RateLimitVectorsTest {
  @Test
  void rateLimit() throws Exception {
    Map<String, JsonValue> v = load("credits.json").map.get("rate_limit").map;
    for (JsonValue c : v.get("share").array) {
      Map<String, JsonValue> m = c.map;
      long own = m.get("own_capacity").number.longValue();
      long total = own;
      for (JsonValue o : m.get("other_capacities").array) {
        total += o.number.longValue();
      }
      double want = m.get("share").number.doubleValue();
      assertThat(Rates.share(m.get("rate").number.doubleValue(), own, total))
          .as(m.get("name").string)
          .isCloseTo(want, within(Math.abs(want) * 1e-9 + 1e-12));
    }
    for (JsonValue c : v.get("window").array) {
      Map<String, JsonValue> m = c.map;
      double rate = m.get("rate").number.doubleValue();
      int n = m.get("live_workers").number.intValue();
      if (Rates.limited(rate)) {
        assertThat(Rates.pacing(rate, n))
            .as(c.toJson())
            .isEqualTo(m.get("pacing").number.longValue());
      }
      assertThat(
              Rates.window(
                  m.get("window").number.longValue(), rate, m.get("burst").number.longValue(), n))
          .as(c.toJson())
          .isEqualTo(m.get("rate_window").number.longValue());
    }
    for (JsonValue c : v.get("bucket").array) {
      RateGate gate = new RateGate();
      gate.configure(1000, 100, c.map.get("share").number.doubleValue(), 0);
      for (JsonValue s : c.map.get("steps").array) {
        long at = s.map.get("at_ms").number.longValue() * 1_000_000L;
        assertThat(
                gate.allow(
                    s.map.get("wanted").number.longValue(),
                    s.map.get("owed").number.longValue(),
                    at))
            .as(c.map.get("name").string + " at " + s.map.get("at_ms").number)
            .isEqualTo(s.map.get("allowed").number.longValue());
      }
    }
  }
}
