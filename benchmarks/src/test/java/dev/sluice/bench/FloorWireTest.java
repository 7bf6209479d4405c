package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.SluiceHeaders;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The floor pipelines' header blocks: what they write and what their handlers accept. */
class FloorWireTest {
  private static String text(Headers h) {
    byte[] b = new byte[h.serializedLength()];
    assertThat(h.serializeToArray(0, b)).isEqualTo(b.length);
    return new String(b, StandardCharsets.US_ASCII);
  }

  /** What jnats' reader makes of a block: a plain Headers with the same lines. */
  private static Headers received(String text) {
    Headers h = new Headers();
    for (String line : text.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        h.put(line.substring(0, colon), line.substring(colon + 1));
      }
    }
    return h;
  }

  @Test
  void theWireBlockHasTheProducersEightLinesAndItsLength() {
    String t = text(FloorWire.WIRE.headers("java-0123abcd"));
    assertThat(t).startsWith("NATS/1.0\r\n").endsWith("\r\n\r\n");
    assertThat(t)
        .contains("\r\nSluice-Protocol:1\r\n", "\r\nSluice-Type:bench.Job\r\n")
        .contains("\r\nSluice-Type-Version:1\r\n", "\r\nSluice-Producer:java-0123abcd\r\n")
        .contains("\r\nContent-Type:application/octet-stream\r\n");
    assertThat(t).containsPattern("\r\ntraceparent:00-[0-9a-f]{32}-[0-9a-f]{16}-00\r\n");
    assertThat(t).containsPattern("\r\nNats-Msg-Id:[0-9A-Za-z]{22}\r\n");
    assertThat(t).containsPattern("\r\nSluice-Sent-At:[0-9]{13}\r\n");
    // The Java producer's block for the benchmark's message, measured on the wire: 282 bytes.
    assertThat(t).hasSize(282);
    assertThat(FloorWire.WIRE.read(received(t))).isTrue();
  }

  @Test
  void eachSendHasAFreshIdAndTrace() {
    Headers a = received(text(FloorWire.WIRE.headers("java-0123abcd")));
    Headers b = received(text(FloorWire.WIRE.headers("java-0123abcd")));
    assertThat(a.getFirst(SluiceHeaders.MSG_ID)).isNotEqualTo(b.getFirst(SluiceHeaders.MSG_ID));
    assertThat(a.getFirst(SluiceHeaders.TRACEPARENT))
        .isNotEqualTo(b.getFirst(SluiceHeaders.TRACEPARENT));
  }

  @Test
  void theCompactBlockPacksTheSluiceLinesIntoOne() {
    String t = text(FloorWire.COMPACT.headers("java-0123abcd"));
    assertThat(t).containsPattern("\r\nSluice:1;bench\\.Job;1;java-0123abcd;[0-9]{13}\r\n");
    assertThat(t).doesNotContain("Sluice-Type");
    assertThat(FloorWire.COMPACT.read(received(t))).isTrue();
  }

  @Test
  void aHandlerRejectsAMissingOrMalformedRequiredHeader() {
    Headers h = received(text(FloorWire.WIRE.headers("java-0123abcd")));
    h.put(SluiceHeaders.TYPE_VERSION, "0");
    assertThat(FloorWire.WIRE.read(h)).isFalse();
    Headers noId = received(text(FloorWire.WIRE.headers("java-0123abcd")));
    noId.remove(SluiceHeaders.MSG_ID);
    assertThat(FloorWire.WIRE.read(noId)).isFalse();
    assertThat(FloorWire.ID.read(noId)).isFalse();
    Headers compact =
        new Headers().put(SluiceHeaders.MSG_ID, "x").put("Sluice", "1;bench.Job;x;p;1");
    assertThat(FloorWire.COMPACT.read(compact)).isFalse();
  }

  @Test
  void rawSendsNoHeadersAndNamesAreThePipelines() {
    assertThat(FloorWire.NONE.headers("p")).isNull();
    assertThat(FloorWire.of("raw-wire")).isEqualTo(FloorWire.WIRE);
    assertThat(FloorWire.of("sluice")).isNull();
  }
}
