package dev.sluice.internal;

import static dev.sluice.internal.Vectors.headers;
import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.Backoff;
import dev.sluice.DeadLetterReason;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.HeaderCheck;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** outcomes.json: what a worker does with a delivery before and after its handler runs. */
class OutcomeVectorsTest {
  @Test
  void outcomes() throws Exception {
    List<JsonValue> cases = load("outcomes.json").map.get("cases").array;
    assertThat(cases).hasSizeGreaterThan(15);
    for (JsonValue c : cases) {
      Map<String, JsonValue> m = c.map;
      String name = m.get("name").string;
      Map<String, JsonValue> s = m.get("settings").map;
      Map<String, JsonValue> bo = s.get("backoff").map;
      Backoff backoff =
          Backoff.exponential(
              Duration.ofMillis(bo.get("initial_ms").number.longValue()),
              bo.get("multiplier").number.doubleValue(),
              Duration.ofMillis(bo.get("max_delay_ms").number.longValue()),
              bo.get("jitter").number.doubleValue());
      Classifier.Limits limits =
          new Classifier.Limits(
              s.get("max_attempts").number.intValue(),
              s.get("max_deliveries").number.intValue(),
              Duration.ofMillis(s.get("grace_ms").number.longValue()),
              Duration.ofMillis(s.get("grace_delay_ms").number.longValue()),
              s.get("max_payload_bytes").number.intValue());
      List<JsonValue> handled = m.get("handled").array;
      Classifier.Handles handles =
          new Classifier.Handles() {
            @Override
            public boolean knowsType(String type) {
              return handled.stream().anyMatch(h -> h.map.get("type").string.equals(type));
            }

            @Override
            public boolean handles(String type, int version) {
              return handled.stream()
                  .anyMatch(
                      h ->
                          h.map.get("type").string.equals(type)
                              && h.map.get("min_version").number.intValue() <= version
                              && version <= h.map.get("max_version").number.intValue());
            }
          };
      long k = m.get("delivery_count").number.longValue();
      Classifier.Decision d =
          Classifier.beforeHandler(
              HeaderCheck.check(headers(m.get("headers"))),
              m.get("payload_size").number.intValue(),
              k,
              m.get("age_ms").number.longValue(),
              m.get("processed_before").bool,
              handles,
              new Classifier.Fleet() {
                @Override
                public boolean othersHandle() {
                  return m.containsKey("fleet_handles") && m.get("fleet_handles").bool;
                }

                @Override
                public boolean othersDecline() {
                  return m.containsKey("fleet_declines") && m.get("fleet_declines").bool;
                }
              },
              limits);
      boolean handlerRuns = d instanceof Classifier.Run;
      if (handlerRuns && !m.get("decodes").bool) {
        d = new Classifier.DeadLetter(DeadLetterReason.DECODE_ERROR, "");
        handlerRuns = false;
      } else if (handlerRuns) {
        String r = m.get("handler_result").string;
        d =
            r.equals("success")
                ? new Classifier.AckDuplicate() // stands for "ack" below
                : Classifier.afterFailure(k, r.equals("reject"), "boom", backoff, limits);
      }
      Map<String, JsonValue> e = m.get("expect").map;
      assertThat(handlerRuns).as(name + ": handler runs").isEqualTo(e.get("handler_runs").bool);
      switch (e.get("outcome").string) {
        case "ack" -> assertThat(d).as(name).isInstanceOf(Classifier.AckDuplicate.class);
        case "dlq" -> {
          assertThat(d).as(name).isInstanceOf(Classifier.DeadLetter.class);
          assertThat(((Classifier.DeadLetter) d).reason().code())
              .as(name)
              .isEqualTo(e.get("reason").string);
          if (e.containsKey("error")) {
            assertThat(((Classifier.DeadLetter) d).error())
                .as(name)
                .isEqualTo(e.get("error").string);
          }
        }
        case "nak" -> {
          assertThat(d).as(name).isInstanceOf(Classifier.Nak.class);
          double ms = ((Classifier.Nak) d).delay().toNanos() / 1e6;
          if (e.containsKey("delay_ms")) {
            assertThat(ms).as(name).isCloseTo(e.get("delay_ms").number.doubleValue(), within(1e-6));
          } else {
            assertThat(ms)
                .as(name)
                .isBetween(
                    e.get("delay_min_ms").number.doubleValue() - 1e-6,
                    e.get("delay_max_ms").number.doubleValue() + 1e-6);
          }
        }
        default -> throw new AssertionError("unknown outcome in " + name);
      }
    }
  }
}
