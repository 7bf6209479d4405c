package dev.sluice;

import dev.sluice.internal.wire.Protocol;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A dead-letter record as stored in {@code SLUICE_DLQ} (PROTOCOL.md §8.2): the original message's
 * headers and payload plus the {@code Sluice-Dlq-*} headers that say why and where it failed. The
 * accessors read those headers; a header a peer did not write reads as empty. Immutable and
 * thread-safe.
 *
 * @param message the stored record, headers and payload as the dead-letter stream holds them
 */
public record DeadLetterRecord(StoredMessage message) {
  /** The subject prefix of dead letters; the queue's name follows it. */
  private static final String SUBJECT_PREFIX = Protocol.dlqSubject("");

  /** Rejects null. */
  public DeadLetterRecord {
    Objects.requireNonNull(message, "message");
  }

  /** The record's sequence in {@code SLUICE_DLQ}: what replay and show select by. */
  public long sequence() {
    return message.sequence();
  }

  /** The queue the message was dead-lettered from (from the record's subject). */
  public String queue() {
    String s = message.subject();
    return s.startsWith(SUBJECT_PREFIX) ? s.substring(SUBJECT_PREFIX.length()) : s;
  }

  /**
   * The reason code as written, e.g. {@code max-attempts}, also when this version does not know it.
   */
  public Optional<String> reasonCode() {
    return message.header(SluiceHeaders.DLQ_REASON);
  }

  /** The reason, empty when absent or a code this version does not know. */
  public Optional<DeadLetterReason> reason() {
    return reasonCode()
        .flatMap(
            c -> {
              try {
                return Optional.of(DeadLetterReason.fromCode(c));
              } catch (IllegalArgumentException e) {
                return Optional.empty();
              }
            });
  }

  /** The last error, one line. */
  public Optional<String> error() {
    return message.header(SluiceHeaders.DLQ_ERROR);
  }

  /** How many times the message was delivered before it was dead-lettered. */
  public OptionalLong attempts() {
    return longHeader(SluiceHeaders.DLQ_ATTEMPTS);
  }

  /** The original message id. */
  public Optional<String> originalMessageId() {
    return message.header(SluiceHeaders.DLQ_MSG_ID);
  }

  /** The payload type. */
  public Optional<String> type() {
    return message.header(SluiceHeaders.TYPE);
  }

  /** The payload version, empty when absent or not a number. */
  public OptionalInt typeVersion() {
    OptionalLong v = longHeader(SluiceHeaders.TYPE_VERSION);
    return v.isPresent() ? OptionalInt.of((int) v.getAsLong()) : OptionalInt.empty();
  }

  /** The id of the worker that dead-lettered it. */
  public Optional<String> workerId() {
    return message.header(SluiceHeaders.DLQ_WORKER);
  }

  /** When it was dead-lettered. */
  public Optional<Instant> deadLetteredAt() {
    OptionalLong at = longHeader(SluiceHeaders.DLQ_AT);
    return at.isPresent() ? Optional.of(Instant.ofEpochMilli(at.getAsLong())) : Optional.empty();
  }

  /** The message's sequence in its work stream. */
  public OptionalLong streamSequence() {
    return longHeader(SluiceHeaders.DLQ_STREAM_SEQ);
  }

  /** The message id a replay of this record is published with (§8.3): {@code replay.<sequence>}. */
  public String replayMessageId() {
    return "replay." + sequence();
  }

  private OptionalLong longHeader(String name) {
    Optional<String> v = message.header(name);
    if (v.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(v.get().trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }
}
