package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.Backoff;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** backoff.json: retry delays per attempt, with and without jitter (protocol §7.3). */
class BackoffVectorsTest {
  @Test
  void backoff() throws Exception {
    for (JsonValue c : load("backoff.json").map.get("cases").array) {
      Map<String, JsonValue> p = c.map.get("params").map;
      Backoff b =
          Backoff.exponential(
              Duration.ofMillis(p.get("initial_ms").number.longValue()),
              p.get("multiplier").number.doubleValue(),
              Duration.ofMillis(p.get("max_delay_ms").number.longValue()),
              p.get("jitter").number.doubleValue());
      for (JsonValue row : c.map.get("attempts").array) {
        int k = row.map.get("attempt").number.intValue();
        assertThat(b.baseMillis(k))
            .isCloseTo(row.map.get("delay_ms").number.doubleValue(), within(1e-6));
        assertThat(b.delayMillis(k, 0.0))
            .isCloseTo(row.map.get("min_ms").number.doubleValue(), within(1e-6));
        for (JsonValue u : row.map.get("at_u").array) {
          assertThat(b.delayMillis(k, u.map.get("u").number.doubleValue()))
              .isCloseTo(u.map.get("delay_ms").number.doubleValue(), within(1e-6));
          assertThat(b.delay(k, u.map.get("u").number.doubleValue()).toNanos())
              .isEqualTo(u.map.get("delay_ns").number.longValue());
        }
        for (int i = 0; i < 200; i++) {
          double ms = b.delay(k).toNanos() / 1e6;
          assertThat(ms)
              .isBetween(
                  row.map.get("min_ms").number.doubleValue() - 1e-6,
                  row.map.get("max_ms").number.doubleValue() + 1e-6);
        }
      }
    }
  }
}
