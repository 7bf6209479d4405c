package dev.sluice.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.spi.Codec;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The work payload of peers/README.md: Go and Rust decode what the Java producer writes, and the
 * Java worker must turn a malformed body into a decode error (dead letter {@code decode-error}).
 */
class WorkPayloadTest {
  private final Codec<JavaWorker.Work> codec = JavaWorker.codec("sluice.conformance.Work", 1);

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void bodyIsTheContractJson() {
    // The raw messages of the poison scenario compare bodies byte for byte.
    assertThat(new String(JavaPeer.body(7, "fail-once"), StandardCharsets.UTF_8))
        .isEqualTo("{\"seq\":7,\"behavior\":\"fail-once\"}");
  }

  @Test
  void decodesWhatItEncodesAndDefaultsBehaviorToOk() throws Exception {
    assertThat(codec.decode(codec.encode(new JavaWorker.Work(12, "poison"))))
        .isEqualTo(new JavaWorker.Work(12, "poison"));
    assertThat(codec.decode(utf8("{\"seq\":3}"))).isEqualTo(new JavaWorker.Work(3, "ok"));
  }

  @Test
  void malformedBodiesAreDecodeErrors() {
    // Each would otherwise be processed (or crash the handler) instead of dead-lettered.
    for (String bad :
        new String[] {
          "not json",
          "{\"behavior\":\"ok\"}",
          "{\"seq\":\"7\"}",
          "{\"seq\":7.5}",
          "{\"seq\":7,\"behavior\":\"explode\"}",
          "{\"seq\":7,\"behavior\":1}"
        }) {
      assertThatThrownBy(() -> codec.decode(utf8(bad)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
