package dev.sluice;

import java.util.Objects;

/**
 * A dead letter published back to its work queue by {@link DeadLetterQueue#replay}.
 *
 * @param deadLetterSequence the record's sequence in {@code SLUICE_DLQ} (now deleted)
 * @param queue the queue it was replayed to
 * @param replayMessageId the message id of the replay, {@code replay.<deadLetterSequence>}
 * @param workSequence the replay's sequence in the work stream
 * @param duplicate true when the work stream already had this replay (de-duplicated by its id)
 */
public record ReplayResult(
    long deadLetterSequence,
    String queue,
    String replayMessageId,
    long workSequence,
    boolean duplicate) {
  /** Rejects nulls. */
  public ReplayResult {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(replayMessageId, "replayMessageId");
  }
}
