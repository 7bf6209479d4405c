package dev.sluice;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One producer's report of the credits it holds, as read from the {@code sluice-control} bucket
 * (PROTOCOL.md §6). A stale report (heartbeat plus TTL in the past at the time of the reading) is
 * reported with {@code live == false}. Immutable and thread-safe.
 *
 * @param producerId the producer's id
 * @param queue the queue it sends to
 * @param language the peer's language
 * @param heldSpent credits of tokens it holds that it has already spent (S in §5.5)
 * @param heldUnspent credits of tokens it holds and may still spend
 * @param waiting sends waiting for a credit now
 * @param sentTotal messages it sent since it started
 * @param heartbeatAt when it last wrote the report
 * @param ttl how long the report stays live after {@code heartbeatAt}
 * @param live whether the report was live at the time of the reading
 * @param fairnessKeys the fairness keys of its sends (protocol §15.3): at most 32, the ones with
 *     the most sends waiting first; empty when its sends have no keys
 */
public record ProducerReport(
    String producerId,
    String queue,
    String language,
    long heldSpent,
    long heldUnspent,
    long waiting,
    long sentTotal,
    Instant heartbeatAt,
    Duration ttl,
    boolean live,
    List<FairnessKey> fairnessKeys) {

  /**
   * One fairness key inside one producer.
   *
   * @param key the key
   * @param weight its weight in this producer
   * @param waiting its sends waiting for a credit now
   * @param grantedTotal credits granted to its sends since the producer started
   */
  public record FairnessKey(String key, int weight, long waiting, long grantedTotal) {}

  /** A report without fairness keys. */
  public ProducerReport(
      String producerId,
      String queue,
      String language,
      long heldSpent,
      long heldUnspent,
      long waiting,
      long sentTotal,
      Instant heartbeatAt,
      Duration ttl,
      boolean live) {
    this(
        producerId,
        queue,
        language,
        heldSpent,
        heldUnspent,
        waiting,
        sentTotal,
        heartbeatAt,
        ttl,
        live,
        List.of());
  }

  /** Rejects null names and times. */
  public ProducerReport {
    fairnessKeys = List.copyOf(fairnessKeys);
    Objects.requireNonNull(producerId, "producerId");
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(language, "language");
    Objects.requireNonNull(heartbeatAt, "heartbeatAt");
    Objects.requireNonNull(ttl, "ttl");
  }

  /** Credits of every token it holds, spent or not. */
  public long held() {
    return heldSpent + heldUnspent;
  }
}
