package dev.sluice.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** A peer's stdout line is an event only when it is exactly one JSON object. */
class JsonLinesTest {
  @Test
  void parsesAnEventWithItsNumbersAndNulls() {
    ObjectNode e =
        JsonLines.parseObject(
            "{\"event\":\"dead_lettered\",\"msg_id\":null,\"attempt\":3,\"delay_ms\":98.5}");

    Peer.Event ev = new Peer.Event(e, 0);
    // The checks read fields through Event: a null must stay null, numbers must stay numbers.
    assertThat(ev.type()).isEqualTo("dead_lettered");
    assertThat(ev.str("msg_id")).isNull();
    assertThat(ev.num("attempt")).isEqualTo(3);
    assertThat(ev.str("attempt")).isEqualTo("3");
    assertThat(ev.num("delay_ms")).isEqualTo(98);
    assertThat(ev.num("missing")).isEqualTo(-1);
    assertThat(ev.num("event")).isEqualTo(-1);
  }

  @Test
  void rejectsAnythingButExactlyOneObject() {
    // Each of these is "junk on stdout" that the fleet checks must report, not silently accept.
    for (String junk :
        new String[] {"[1,2]", "\"text\"", "42", "not json", "{\"a\":1} trailing", "{\"a\":"}) {
      assertThatThrownBy(() -> JsonLines.parseObject(junk))
          .as(junk)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void writesCompactLinesInInsertionOrder() {
    // Peers and scripts read these lines; spaces or reordering would change documented output.
    assertThat(JsonLines.write(JsonLines.object().put("b", 1).put("a", "x").putNull("c")))
        .isEqualTo("{\"b\":1,\"a\":\"x\",\"c\":null}");
  }
}
