package dev.sluice.internal.producer;

import dev.sluice.MessageTooLargeException;
import dev.sluice.internal.wire.ReducedRecords;
import io.nats.client.impl.Headers;

/**
 * The largest message the work stream stores (PROTOCOL.md §2.2): its header block (canonical size,
 * §8.4) plus its payload must not exceed the stream's max message size nor the server's max
 * payload. A producer checks it before it reserves a credit, so a message that can never be stored
 * costs none. Immutable.
 *
 * @param stream the work stream's name, for the error
 * @param maxMsgSize the stream's {@code max_msg_size}; 0 or negative: none
 * @param maxPayload the server's {@code max_payload}; 0 or negative: none
 */
public record SizeLimit(String stream, long maxMsgSize, long maxPayload) {

  /** The effective limit in bytes, {@link Long#MAX_VALUE} when there is none. */
  public long limit() {
    return Math.min(bound(maxMsgSize), bound(maxPayload));
  }

  /** Whether a message of {@code headerBytes} + {@code payloadBytes} is stored. */
  public boolean fits(long headerBytes, long payloadBytes) {
    return headerBytes + payloadBytes <= limit();
  }

  /** Throws {@link MessageTooLargeException} when {@code headers} plus the payload do not fit. */
  void check(Headers headers, long payloadBytes) {
    long headerBytes =
        headers instanceof SealedHeaders block
            ? block.canonicalSize()
            : ReducedRecords.size(headers);
    if (fits(headerBytes, payloadBytes)) {
      return;
    }
    String which =
        bound(maxMsgSize) <= bound(maxPayload)
            ? "max_msg_size of stream " + stream
            : "max_payload of the server";
    throw new MessageTooLargeException(
        headerBytes,
        payloadBytes,
        limit(),
        which,
        "message of "
            + (headerBytes + payloadBytes)
            + " bytes (headers "
            + headerBytes
            + " + payload "
            + payloadBytes
            + ") exceeds the "
            + which
            + " ("
            + limit()
            + " bytes); it was not sent and no credit was spent: send a smaller payload (store"
            + " large data elsewhere and send a reference) or raise the "
            + which);
  }

  private static long bound(long v) {
    return v > 0 ? v : Long.MAX_VALUE;
  }
}
