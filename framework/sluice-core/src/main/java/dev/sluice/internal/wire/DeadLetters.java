package dev.sluice.internal.wire;

import dev.sluice.DeadLetterReason;
import io.nats.client.impl.Headers;

/** Dead-letter records and replays (protocol §8). */
public final class DeadLetters {
  public static final int MAX_ERROR_CHARS = 1024;

  private DeadLetters() {}

  /** The record's headers: every original header plus the {@code Sluice-Dlq-*} ones. */
  public static Headers recordHeaders(
      Headers original,
      String stream,
      long streamSeq,
      String subject,
      long deliveries,
      String workerId,
      long atUnixMs,
      DeadLetterReason reason,
      String error) {
    Headers h = new Headers();
    String originalId = null;
    if (original != null) {
      for (String key : original.keySet()) {
        if (key.equals(Protocol.H_MSG_ID)) {
          originalId = HeaderCheck.first(original, key);
          continue;
        }
        if (isPublishPrecondition(key)) {
          continue; // e.g. Nats-Expected-Stream: it would make the record's own publish fail
        }
        h.put(key, original.get(key));
      }
    }
    h.put(Protocol.H_MSG_ID, "dlq." + stream + "." + streamSeq);
    if (originalId != null && !originalId.isEmpty()) {
      h.put(Protocol.H_DLQ_MSG_ID, originalId);
    }
    h.put(Protocol.H_DLQ_REASON, reason.code());
    h.put(Protocol.H_DLQ_ERROR, truncate(error == null ? "" : error));
    h.put(Protocol.H_DLQ_ATTEMPTS, Long.toString(deliveries));
    h.put(Protocol.H_DLQ_STREAM, stream);
    h.put(Protocol.H_DLQ_STREAM_SEQ, Long.toString(streamSeq));
    h.put(Protocol.H_DLQ_SUBJECT, subject);
    h.put(Protocol.H_DLQ_WORKER, workerId);
    h.put(Protocol.H_DLQ_AT, Long.toString(atUnixMs));
    return h;
  }

  /**
   * A replay's headers: the record's, less the {@code Sluice-Dlq-*} ones, with {@code Nats-Msg-Id =
   * replay.<dlq seq>} and {@code Sluice-Replay-Of} = the original id.
   */
  public static Headers replayHeaders(Headers record, long dlqSeq) {
    Headers h = new Headers();
    for (String key : record.keySet()) {
      if (key.startsWith("Sluice-Dlq-")
          || key.equals(Protocol.H_MSG_ID)
          || isPublishPrecondition(key)) {
        continue;
      }
      h.put(key, record.get(key));
    }
    h.put(Protocol.H_MSG_ID, "replay." + dlqSeq);
    String original = HeaderCheck.first(record, Protocol.H_DLQ_MSG_ID);
    if (original != null) {
      h.put(Protocol.H_REPLAY_OF, original);
    }
    return h;
  }

  /** JetStream publish preconditions ({@code Nats-Expected-*}) are never copied. */
  static boolean isPublishPrecondition(String header) {
    return header.startsWith("Nats-Expected-");
  }

  static String truncate(String s) {
    // Error text must fit in one header line: no CR or LF.
    String oneLine = s.replace('\r', ' ').replace('\n', ' ');
    return oneLine.length() <= MAX_ERROR_CHARS ? oneLine : oneLine.substring(0, MAX_ERROR_CHARS);
  }
}
