package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** An {@link OutgoingMessage} is immutable: it owns a copy of the payload it was given. */
class OutgoingMessageTest {

  @Test
  void theCallerMayReuseItsBufferOnceTheMessageIsBuilt() {
    byte[] buffer = {1, 2, 3};
    OutgoingMessage m = OutgoingMessage.builder("test.Job", 1, buffer).build();
    buffer[0] = 9;
    // Without the copy, a caller that reuses a pooled buffer would send the next message's bytes.
    assertThat(m.payload()).containsExactly(1, 2, 3);
  }

  @Test
  void changingTheReturnedPayloadDoesNotChangeTheMessage() {
    OutgoingMessage m = OutgoingMessage.builder("test.Job", 1, new byte[] {1, 2, 3}).build();
    m.payload()[0] = 9;
    assertThat(m.payload()).containsExactly(1, 2, 3);
  }

  @Test
  void builderValuesAreValidatedWithTheValueInTheMessage() {
    assertThatThrownBy(() -> OutgoingMessage.builder("bad type", 1, new byte[0]))
        .hasMessage("type 'bad type' must match [A-Za-z0-9_./-]{1,256}");
    assertThatThrownBy(() -> OutgoingMessage.builder("test.Job", 0, new byte[0]))
        .hasMessage("version 0 < 1");
    assertThatThrownBy(() -> OutgoingMessage.builder("test.Job", 1, null)).hasMessage("payload");
    assertThatThrownBy(
            () -> OutgoingMessage.builder("test.Job", 1, new byte[0]).messageId("has space"))
        .hasMessage("messageId 'has space' must be 1-128 printable ASCII characters");
    assertThatThrownBy(
            () -> OutgoingMessage.builder("test.Job", 1, new byte[0]).header("Nats-Expected", "x"))
        .hasMessage("header Nats-Expected is reserved");
  }
}
