package dev.sluice.internal.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.internal.wire.ReducedRecords;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The producer's header block writes what jnats' own block writes, and refuses what it refuses. */
class SealedHeadersTest {
  private static SealedHeaders block() {
    return new SealedHeaders()
        .set("Nats-Msg-Id", "m-1")
        .set("Sluice-Type", "order.created")
        .setChecked("tenant", "acme corp")
        .set("Sluice-Sent-At", "1700000000000");
  }

  private static Headers plain() {
    return new Headers()
        .put("Nats-Msg-Id", "m-1")
        .put("Sluice-Type", "order.created")
        .put("tenant", "acme corp")
        .put("Sluice-Sent-At", "1700000000000");
  }

  /** The lines of a serialized block, without the version line and the closing blank line. */
  private static Set<String> lines(byte[] serialized) {
    String s = new String(serialized, StandardCharsets.US_ASCII);
    assertThat(s).startsWith("NATS/1.0\r\n").endsWith("\r\n\r\n");
    return Set.copyOf(Arrays.asList(s.substring(10, s.length() - 4).split("\r\n")));
  }

  @Test
  void serializesTheLinesJnatsWouldAtTheLengthItAnnounces() {
    SealedHeaders b = block().seal();
    byte[] dest = new byte[5 + b.serializedLength() + 3];
    int n = b.serializeToArray(5, dest);

    assertThat(n).isEqualTo(b.serializedLength()).isEqualTo(plain().serializedLength());
    byte[] written = Arrays.copyOfRange(dest, 5, 5 + n);
    assertThat(lines(written)).isEqualTo(lines(plain().getSerialized()));
    assertThat(b.getSerialized()).isEqualTo(written);
    assertThat(dest[5 + n]).isZero();
  }

  @Test
  void aSecondValueForANameReplacesTheFirst() {
    SealedHeaders b = block().set("Sluice-Sent-At", "1700000000999");

    assertThat(b.size()).isEqualTo(4);
    assertThat(b.getFirst("Sluice-Sent-At")).isEqualTo("1700000000999");
    assertThat(b.get("Sluice-Sent-At")).isEqualTo(List.of("1700000000999"));
    assertThat(b.serializedLength()).isEqualTo(plain().serializedLength());
    assertThat(lines(b.getSerialized())).contains("Sluice-Sent-At:1700000000999");
  }

  @Test
  void itsCanonicalSizeIsTheOneTheSizeLimitUsesForAnyBlock() {
    assertThat(block().canonicalSize()).isEqualTo(ReducedRecords.size(plain()));
    assertThat(new SealedHeaders().canonicalSize()).isEqualTo(ReducedRecords.size(new Headers()));
  }

  @Test
  void jnatsNeverCopiesItAndItsOwnMutatorsRefuse() {
    SealedHeaders b = block();

    assertThat(b.isReadOnly()).isTrue();
    assertThat(b.isEmpty()).isFalse();
    assertThat(new SealedHeaders().isEmpty()).isTrue();
    assertThatThrownBy(() -> b.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> b.add("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(b::clear).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aSealedBlockDoesNotChange() {
    SealedHeaders b = block().seal();

    assertThatThrownBy(() -> b.set("Sluice-Sent-At", "1"))
        .isInstanceOf(IllegalStateException.class);
    assertThat(b.getFirst("Sluice-Sent-At")).isEqualTo("1700000000000");
  }

  @Test
  void checkedLinesRefuseWhatJnatsRefuses() {
    for (String[] bad :
        new String[][] {{"", "v"}, {"a:b", "v"}, {"a b", "v"}, {"k", "a\r\nb"}, {"k", "é"}}) {
      assertThatThrownBy(() -> new Headers().put(bad[0], bad[1]))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> new SealedHeaders().setChecked(bad[0], bad[1]))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void readsAndComparesLikeAPlainBlock() {
    SealedHeaders b = block();

    assertThat(b).isEqualTo(plain());
    assertThat(b).isEqualTo(block());
    assertThat(b.hashCode()).isEqualTo(plain().hashCode());
    assertThat(b.keySet()).isEqualTo(plain().keySet());
    assertThat(b.containsKeyIgnoreCase("nats-msg-id")).isTrue();
  }

  @Test
  void growsPastItsFirstTwelveLines() {
    SealedHeaders b = new SealedHeaders();
    Headers p = new Headers();
    for (int i = 0; i < 30; i++) {
      b.setChecked("h" + i, "v" + i);
      p.put("h" + i, "v" + i);
    }

    assertThat(b.size()).isEqualTo(30);
    assertThat(lines(b.getSerialized())).isEqualTo(lines(p.getSerialized()));
  }
}
