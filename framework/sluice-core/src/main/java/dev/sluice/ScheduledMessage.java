package dev.sluice;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One schedule stored for a queue, as {@link Schedules} reads it.
 *
 * @param id the message id (one-shot) or the schedule id (recurring)
 * @param dueAt when it is due next
 * @param cron the cron expression of a recurring schedule, or null
 * @param zone the cron's time zone id, or null
 * @param type the payload type
 * @param version the payload's schema version
 * @param producer the producer that stored it
 * @param createdAt when it was stored, or null when unknown
 * @param sequence its sequence in the schedule stream
 * @param traceparent the trace context its message continues
 * @param headers every stored header
 * @param payload the payload bytes
 */
public record ScheduledMessage(
    String id,
    Instant dueAt,
    String cron,
    String zone,
    String type,
    int version,
    String producer,
    Instant createdAt,
    long sequence,
    String traceparent,
    Map<String, List<String>> headers,
    byte[] payload) {

  /** Whether this is a recurring (cron) schedule. */
  public boolean recurring() {
    return cron != null;
  }

  /** How late it is at {@code now}: zero when not yet due. */
  public java.time.Duration lateness(Instant now) {
    return now.isAfter(dueAt) ? java.time.Duration.between(dueAt, now) : java.time.Duration.ZERO;
  }
}
