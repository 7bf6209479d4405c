package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.credit.Aimd;
import io.nats.client.support.JsonValue;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** pushback.json: the AIMD capacity under downstream pushback (protocol §15.1). */
class PushbackVectorsTest {
  @Test
  void pushback() throws Exception {
    for (JsonValue c : load("pushback.json").map.get("cases").array) {
      String name = c.map.get("name").string;
      Map<String, JsonValue> p = c.map.get("params").map;
      Aimd a =
          new Aimd(
              p.get("decrease").number.doubleValue(),
              p.get("floor").number.intValue(),
              p.get("decrease_interval_ms").number.longValue(),
              p.get("increase_interval_ms").number.longValue());
      int i = 0;
      for (JsonValue ev : c.map.get("events").array) {
        Map<String, JsonValue> e = ev.map;
        int nominal = (e.containsKey("nominal") ? e : p).get("nominal").number.intValue();
        long at = e.get("at_ms").number.longValue();
        String what = name + " event " + i++;
        switch (e.get("event").string) {
          case "pushback" ->
              assertThat(a.pushback(nominal, at)).as(what).isEqualTo(e.get("decreased").bool);
          case "success" -> a.succeeded();
          case "tick" -> a.tick(nominal, at, e.containsKey("idle") && e.get("idle").bool);
          default -> throw new IllegalArgumentException(what + ": unknown event");
        }
        assertThat(a.capacity(nominal)).as(what).isEqualTo(e.get("capacity").number.intValue());
        assertThat(a.lowered()).as(what).isEqualTo(e.get("lowered").bool);
      }
    }
  }
}
