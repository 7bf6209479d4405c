package dev.sluice.internal.producer;

import dev.sluice.internal.credit.HeldToken;
import io.nats.client.Message;

/** A credit token as jnats delivered it: the wallet's view of a held message. */
record NatsToken(Message message, int value) implements HeldToken {
  @Override
  public void ack() {
    message.ack();
  }

  @Override
  public void nak() {
    message.nak();
  }

  @Override
  public void extendLease() {
    message.inProgress();
  }
}
