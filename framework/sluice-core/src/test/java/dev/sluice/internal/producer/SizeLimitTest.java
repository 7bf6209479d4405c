package dev.sluice.internal.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.MessageTooLargeException;
import io.nats.client.impl.Headers;
import org.junit.jupiter.api.Test;

/** Which limit binds and what the refusal says (PROTOCOL.md §2.2). */
class SizeLimitTest {
  static Headers headers() {
    Headers h = new Headers();
    h.put("Nats-Msg-Id", "m-1"); // 11 + 3 + 4 = 18, plus the block's 12: 30 bytes
    return h;
  }

  @Test
  void theSmallerOfTheTwoLimitsBindsAndANonPositiveOneIsNone() {
    assertThat(new SizeLimit("S", 100, 200).limit()).isEqualTo(100);
    assertThat(new SizeLimit("S", 300, 200).limit()).isEqualTo(200);
    assertThat(new SizeLimit("S", -1, 200).limit()).isEqualTo(200);
    assertThat(new SizeLimit("S", 0, 0).limit()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void headersAndPayloadCountTogetherUpToTheLimitInclusive() {
    SizeLimit l = new SizeLimit("SLUICE_Q_a", 100, 1 << 20);
    l.check(headers(), 70); // 30 + 70 = 100: stored
    assertThatThrownBy(() -> l.check(headers(), 71))
        .isInstanceOf(MessageTooLargeException.class)
        .hasMessageStartingWith("message of 101 bytes (headers 30 + payload 71) exceeds the")
        .hasMessageContaining("max_msg_size of stream SLUICE_Q_a (100 bytes)");
  }

  @Test
  void theServersMaxPayloadIsNamedWhenItBinds() {
    SizeLimit l = new SizeLimit("SLUICE_Q_a", -1, 50);
    assertThatThrownBy(() -> l.check(headers(), 21))
        .isInstanceOf(MessageTooLargeException.class)
        .hasMessageContaining("max_payload of the server (50 bytes)");
  }
}
