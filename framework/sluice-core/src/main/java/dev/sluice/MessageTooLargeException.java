package dev.sluice;

/**
 * A send was refused before it spent a credit because the message would not be stored: its header
 * block plus its payload exceed the work stream's max message size or the server's max payload
 * (PROTOCOL.md §2.2). Retrying the same message fails the same way: send a smaller payload (store
 * large data elsewhere and send a reference), or raise the limit that {@link #limitName()} names.
 */
public final class MessageTooLargeException extends SluiceException {
  private static final long serialVersionUID = 1L;

  private final long headerBytes;
  private final long payloadBytes;
  private final long limit;
  private final String limitName;

  public MessageTooLargeException(
      long headerBytes, long payloadBytes, long limit, String limitName, String message) {
    super(message);
    this.headerBytes = headerBytes;
    this.payloadBytes = payloadBytes;
    this.limit = limit;
    this.limitName = limitName;
  }

  /** The canonical size of the message's header block in bytes (PROTOCOL.md §8.4). */
  public long headerBytes() {
    return headerBytes;
  }

  /** The payload's length in bytes. */
  public long payloadBytes() {
    return payloadBytes;
  }

  /** The message's size: headers plus payload. */
  public long size() {
    return headerBytes + payloadBytes;
  }

  /** The limit in bytes the message exceeds. */
  public long limit() {
    return limit;
  }

  /**
   * Which limit: {@code max_msg_size of stream SLUICE_Q_<q>} or {@code max_payload of the server}.
   */
  public String limitName() {
    return limitName;
  }
}
