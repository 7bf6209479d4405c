package dev.sluice.internal.credit;

import io.nats.client.Connection;
import io.nats.client.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The double ack: an ack with a reply subject, which the server answers (protocol §5.4). */
public final class Acks {
  public static final byte[] ACK = "+ACK".getBytes(StandardCharsets.US_ASCII);

  private Acks() {}

  /**
   * Sends {@code kind} with a reply subject; the future completes when the server has processed it,
   * and with it every earlier ack this connection sent for the same consumer.
   */
  public static CompletableFuture<Message> confirmAsync(
      Connection nc, Message m, byte[] kind, Duration timeout) {
    if (m.getReplyTo() == null) {
      return CompletableFuture.failedFuture(new IOException("message has no ack subject"));
    }
    return nc.request(m.getReplyTo(), kind).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
