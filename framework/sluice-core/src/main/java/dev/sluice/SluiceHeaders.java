package dev.sluice;

/**
 * The names of the headers Sluice messages carry (protocol {@code sluice/v1}, PROTOCOL.md §3 and
 * §8.2). NATS headers are case-preserving, so these spellings are the only ones; use them to read a
 * {@link StoredMessage}, a {@link DeadLetterRecord} or {@code MessageContext.headers()}.
 */
public final class SluiceHeaders {
  /** The message id, also the idempotency key and JetStream's de-duplication id. */
  public static final String MSG_ID = "Nats-Msg-Id";

  /** The protocol version the producer spoke, e.g. {@code 1}. */
  public static final String PROTOCOL = "Sluice-Protocol";

  /** The payload type, e.g. a protobuf full name. */
  public static final String TYPE = "Sluice-Type";

  /** The payload's integer schema version. */
  public static final String TYPE_VERSION = "Sluice-Type-Version";

  /** The payload's media type. */
  public static final String CONTENT_TYPE = "Content-Type";

  /** W3C Trace Context: the parent span. */
  public static final String TRACEPARENT = "traceparent";

  /** W3C Trace Context: vendor state. */
  public static final String TRACESTATE = "tracestate";

  /** The id of the producer that sent the message. */
  public static final String PRODUCER = "Sluice-Producer";

  /** When the producer sent the message, in Unix milliseconds. */
  public static final String SENT_AT = "Sluice-Sent-At";

  /**
   * The message's fairness key (protocol §15.3 [v1.3]), e.g. a tenant id: 1-64 characters of {@code
   * [A-Za-z0-9_.:@-]}. Sends of one producer waiting for credits are served fairly across keys.
   */
  public static final String FAIRNESS_KEY = "Sluice-Fairness-Key";

  /** On a replayed message: the message id of the original. */
  public static final String REPLAY_OF = "Sluice-Replay-Of";

  /** On a dead letter: the reason code ({@link DeadLetterReason#code()}). */
  public static final String DLQ_REASON = "Sluice-Dlq-Reason";

  /** On a dead letter: the last error, one line. */
  public static final String DLQ_ERROR = "Sluice-Dlq-Error";

  /** On a dead letter: how many times the message was delivered. */
  public static final String DLQ_ATTEMPTS = "Sluice-Dlq-Attempts";

  /** On a dead letter: the work stream the message came from. */
  public static final String DLQ_STREAM = "Sluice-Dlq-Stream";

  /** On a dead letter: the message's sequence in that work stream. */
  public static final String DLQ_STREAM_SEQ = "Sluice-Dlq-Stream-Seq";

  /** On a dead letter: the subject the message was published to. */
  public static final String DLQ_SUBJECT = "Sluice-Dlq-Subject";

  /** On a dead letter: the id of the worker that dead-lettered it. */
  public static final String DLQ_WORKER = "Sluice-Dlq-Worker";

  /** On a dead letter: when it was dead-lettered, in Unix milliseconds. */
  public static final String DLQ_AT = "Sluice-Dlq-At";

  /** On a dead letter: the original message id (the record has its own {@link #MSG_ID}). */
  public static final String DLQ_MSG_ID = "Sluice-Dlq-Msg-Id";

  /**
   * On a reduced dead letter (protocol §8.4): the names of the original headers left out because
   * the record's header block exceeded the server's limit, comma-separated in the order dropped.
   */
  public static final String DLQ_DROPPED_HEADERS = "Sluice-Dlq-Dropped-Headers";

  /**
   * On a reduced dead letter (protocol §8.4): the original payload's length in bytes. Present only
   * when the record carries a cut payload (its first bytes); such a record is never replayed.
   */
  public static final String DLQ_PAYLOAD_LENGTH = "Sluice-Dlq-Payload-Length";

  /** On a reduced dead letter (protocol §8.4): the lowercase hex SHA-256 of the whole payload. */
  public static final String DLQ_PAYLOAD_SHA256 = "Sluice-Dlq-Payload-Sha256";

  private SluiceHeaders() {}
}
