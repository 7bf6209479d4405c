package dev.sluice.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code Codec.of}: both functions may throw (pure logic: no server). */
class CodecOfTest {
  private static byte[] write(String s) throws IOException {
    if (s.isEmpty()) {
      throw new IOException("nothing to write");
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void anEncoderMayThrowACheckedExceptionAndItArrivesUncheckedNamingTheType() {
    Codec<String> codec =
        Codec.of(
            "x.Text",
            2,
            "text/plain",
            CodecOfTest::write,
            b -> new String(b, StandardCharsets.UTF_8));
    assertThat(codec.encode("hi")).isEqualTo("hi".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> codec.encode(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cannot encode x.Text v2: nothing to write")
        .hasCauseInstanceOf(IOException.class);
  }

  @Test
  void anUncheckedEncoderExceptionPassesUnchanged() {
    IllegalStateException boom = new IllegalStateException("boom");
    Codec<String> codec =
        Codec.of(
            "x.Text",
            1,
            "text/plain",
            s -> {
              throw boom;
            },
            b -> "");
    assertThatThrownBy(() -> codec.encode("a")).isSameAs(boom);
  }
}
