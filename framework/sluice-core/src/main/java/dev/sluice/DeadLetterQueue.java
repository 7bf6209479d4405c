package dev.sluice;

import dev.sluice.internal.inspect.DeadLetterStore;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The dead letters of every queue, stored in the {@code SLUICE_DLQ} stream (PROTOCOL.md §8): list
 * and read them, replay them to their queue once the cause is fixed, or purge them. Obtained from
 * {@link Sluice#deadLetters()}. A server without the stream has no dead letters: reads return
 * nothing and {@link #exists()} says so.
 *
 * <p>Thread-safe. Every operation is a request to the server; failures to reach it are thrown as
 * {@link SluiceException} with the jnats exception as the cause.
 */
public final class DeadLetterQueue {
  private final DeadLetterStore store;

  DeadLetterQueue(DeadLetterStore store) {
    this.store = store;
  }

  /** Whether the {@code SLUICE_DLQ} stream exists (it is created by provisioning any queue). */
  public boolean exists() {
    return store.exists();
  }

  /**
   * The records of {@code queue}, oldest first, at most {@code limit}.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name or limit &lt; 1
   */
  public List<DeadLetterRecord> list(String queue, int limit) {
    Objects.requireNonNull(queue, "queue");
    return store.list(queue, null, requirePositive(limit));
  }

  /**
   * The records of {@code queue} (of every queue when empty) with {@code reason} (any reason when
   * empty), oldest first, at most {@code limit}.
   *
   * @throws IllegalArgumentException if the queue name is not valid or limit &lt; 1
   */
  public List<DeadLetterRecord> list(
      Optional<String> queue, Optional<DeadLetterReason> reason, int limit) {
    return store.list(queue.orElse(null), reason.orElse(null), requirePositive(limit));
  }

  /** The record with this {@code SLUICE_DLQ} sequence, if there is one. */
  public Optional<DeadLetterRecord> get(long sequence) {
    return store.get(sequence);
  }

  /**
   * The number of records stored for {@code queue}; 0 when the stream does not exist.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name
   */
  public long count(String queue) {
    return store.count(Objects.requireNonNull(queue, "queue"));
  }

  /** The number of records of every queue; 0 when the stream does not exist. */
  public long countAll() {
    return store.count(null);
  }

  /**
   * Publishes the record back to its queue (PROTOCOL.md §8.3) and deletes it once the work stream
   * has stored the replay. The replay keeps the original headers and payload, without the {@code
   * Sluice-Dlq-*} headers, with message id {@code replay.<sequence>} (so replaying the same record
   * twice stores it once) and {@code Sluice-Replay-Of} naming the original id. A replay spends no
   * credit; the work stream's hard limit still applies.
   *
   * @throws QueueNotFoundException if the record's queue no longer exists
   * @throws QueueFullException if the work stream holds its hard limit (the record is kept)
   * @throws PublishException if the server refused the publish for another reason, or if the record
   *     carries a cut payload ({@code Sluice-Dlq-Payload-Length}, §8.4), which is never replayed
   */
  public ReplayResult replay(DeadLetterRecord record) {
    return store.replay(Objects.requireNonNull(record, "record"));
  }

  /**
   * Deletes every record of {@code queue}; returns how many were deleted.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name
   */
  public long purge(String queue) {
    return store.purge(Objects.requireNonNull(queue, "queue"));
  }

  /** Deletes the records of every queue; returns how many were deleted. */
  public long purgeAll() {
    return store.purge(null);
  }

  private static int requirePositive(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit < 1: " + limit);
    }
    return limit;
  }
}
