package dev.sluice.internal;

import io.nats.client.Connection;
import io.nats.client.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** Acknowledgements that wait for the server's confirmation ("double acks", protocol §5.4). */
public final class Acks {
  private static final byte[] TERM = "+TERM".getBytes(StandardCharsets.US_ASCII);

  private Acks() {}

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
