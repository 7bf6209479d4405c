package dev.sluice.internal;

import io.nats.client.Connection;
import io.nats.client.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** Acknowledgements that wait for the server's confirmation ("double acks", protocol §5.4). */
public final class Acks {
  public static final byte[] ACK = "+ACK".getBytes(StandardCharsets.US_ASCII);
  public static final byte[] TERM = "+TERM".getBytes(StandardCharsets.US_ASCII);

  private Acks() {}

  /**
   * Sends {@code kind} ({@link #ACK} or {@link #TERM}) with a reply subject; the future completes
   * when the server confirms it.
   */
  public static java.util.concurrent.CompletableFuture<Message> confirmAsync(
      Connection nc, Message m, byte[] kind, Duration timeout) {
    if (m.getReplyTo() == null) {
      return java.util.concurrent.CompletableFuture.failedFuture(
          new IOException("message has no ack subject"));
    }
    return nc.request(m.getReplyTo(), kind)
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Acks and waits until the server confirms. */
  public static void ackSync(Message m, Duration timeout)
      throws TimeoutException, InterruptedException {
    m.ackSync(timeout);
  }

  /** Terminates (removes from a work-queue stream) and waits until the server confirms. */
  public static void termSync(Connection nc, Message m, Duration timeout)
      throws IOException, InterruptedException, TimeoutException {
    if (m.getReplyTo() == null) {
      throw new IOException("message has no ack subject");
    }
    Message reply = nc.request(m.getReplyTo(), TERM, timeout);
    if (reply == null) {
      throw new TimeoutException("no confirmation of +TERM within " + timeout);
    }
  }
}
