package dev.sluice.internal.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The UTF-8 length a header block is measured with (§2.2, §8.4), counted without encoding, held
 * against {@link String#getBytes} as the oracle: a count one byte short would let a send through
 * that the server refuses after its credit was spent.
 */
class Utf8LengthTest {
  /** One to four bytes a character, both halves of a pair, and lone halves ('?' when encoded). */
  static final String ALPHABET = "a~\u007f\u0080\u07ff\u0800\u00e9\u2028\uffff\ud83d\ude00";

  @Test
  void countsWhatTheEncoderWrites() {
    for (String v :
        List.of(
            "",
            "Nats-Msg-Id",
            "é",
            "\u20ac",
            "\ud83d\ude00",
            "\ud83d",
            "\ude00",
            "\ud83dx",
            "x\ud83d",
            "\ude00\ud83d")) {
      assertThat(ReducedRecords.utf8Length(v))
          .as("'%s'", v)
          .isEqualTo(v.getBytes(StandardCharsets.UTF_8).length);
    }
  }

  @Test
  void countsWhatTheEncoderWritesForRandomStrings() {
    Random r = new Random(12);
    for (int i = 0; i < 20_000; i++) {
      StringBuilder b = new StringBuilder();
      for (int n = r.nextInt(12); n > 0; n--) {
        b.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
      }
      String v = b.toString();
      assertThat(ReducedRecords.utf8Length(v))
          .as("'%s'", v)
          .isEqualTo(v.getBytes(StandardCharsets.UTF_8).length);
    }
  }
}
