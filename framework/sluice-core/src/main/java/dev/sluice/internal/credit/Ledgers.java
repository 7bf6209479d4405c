package dev.sluice.internal.credit;

import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import java.io.IOException;

/** Reads the backlog B and the stored tokens T of a queue (protocol §5.3, §5.5). */
public final class Ledgers {
  private Ledgers() {}

  /** B: messages stored in the work stream. */
  public static long backlog(JetStreamManagement jsm, String queue)
      throws IOException, JetStreamApiException {
    return jsm.getStreamInfo(Protocol.workStream(queue)).getStreamState().getMsgCount();
  }

  /** True when the work stream of {@code queue} never stored a message (its last sequence is 0). */
  public static boolean neverUsed(JetStreamManagement jsm, String queue)
      throws IOException, JetStreamApiException {
    return jsm.getStreamInfo(Protocol.workStream(queue)).getStreamState().getLastSequence() == 0;
  }

  /** T: credits stored in the credit stream for {@code queue}, held tokens included. */
  public static long tokens(JetStreamManagement jsm, String queue)
      throws IOException, JetStreamApiException {
    StreamInfo si =
        jsm.getStreamInfo(
            Protocol.CREDIT_STREAM, StreamInfoOptions.filterSubjects(Protocol.creditFilter(queue)));
    long t = 0;
    if (si.getStreamState().getSubjects() != null) {
      for (Subject s : si.getStreamState().getSubjects()) {
        long v = Credits.tokenValue(s.getName());
        if (v > 0) {
          t += v * s.getCount();
        }
      }
    }
    return t;
  }

  /** Tokens delivered to a producer (or a burning reconciler) and not yet acked. */
  public static long heldTokens(JetStreamManagement jsm, String queue)
      throws IOException, JetStreamApiException {
    return jsm.getConsumerInfo(Protocol.CREDIT_STREAM, Protocol.creditConsumer(queue))
        .getNumAckPending();
  }
}
