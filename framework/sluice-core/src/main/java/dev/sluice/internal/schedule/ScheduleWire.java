package dev.sluice.internal.schedule;

import dev.sluice.OutgoingMessage;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;

/**
 * Names and rules of the schedule stream (protocol §13): one stream per queue, one subject per
 * schedule (the id, base64url-encoded), at most one message per subject. Pure: no I/O.
 */
public final class ScheduleWire {
  /** The id of the schedule: the message id of a one-shot schedule, the schedule id of a cron. */
  public static final String H_SCHEDULE_ID = "Sluice-Schedule-Id";

  /** When the schedule is due next, Unix milliseconds (decimal). */
  public static final String H_DUE_AT = "Sluice-Due-At";

  /** A recurring schedule's cron expression (5 or 6 fields); absent for a one-shot schedule. */
  public static final String H_CRON = "Sluice-Cron";

  /** The time zone a cron expression is read in (an IANA zone id); default UTC. */
  public static final String H_CRON_ZONE = "Sluice-Cron-Zone";

  /** The longest a message may be scheduled ahead: further is refused (§13.3). */
  public static final Duration MAX_DELAY = Duration.ofDays(366);

  /** A cron schedule id leaves room for {@code -<tick ms>} inside a 128-character message id. */
  public static final int MAX_SCHEDULE_ID = 100;

  /** Headers of an entry that are not copied into the message it fires (§13.4). */
  private static final Set<String> ENTRY_ONLY =
      Set.of(
          Protocol.H_MSG_ID.toLowerCase(Locale.ROOT),
          H_SCHEDULE_ID.toLowerCase(Locale.ROOT),
          H_DUE_AT.toLowerCase(Locale.ROOT),
          H_CRON.toLowerCase(Locale.ROOT),
          H_CRON_ZONE.toLowerCase(Locale.ROOT),
          Protocol.H_PRODUCER.toLowerCase(Locale.ROOT),
          Protocol.H_SENT_AT.toLowerCase(Locale.ROOT),
          Protocol.H_PROTOCOL.toLowerCase(Locale.ROOT),
          Protocol.H_TYPE.toLowerCase(Locale.ROOT),
          Protocol.H_TYPE_VERSION.toLowerCase(Locale.ROOT),
          Protocol.H_CONTENT_TYPE.toLowerCase(Locale.ROOT),
          Protocol.H_TRACEPARENT.toLowerCase(Locale.ROOT),
          Protocol.H_TRACESTATE.toLowerCase(Locale.ROOT));

  private ScheduleWire() {}

  /** The schedule stream of queue {@code q}. */
  public static String stream(String q) {
    return "SLUICE_SCHED_" + q;
  }

  /** Every subject of {@code q}'s schedule stream. */
  public static String filter(String q) {
    return "sluice.sched." + q + ".>";
  }

  /** The subject of schedule {@code id}: its UTF-8 bytes in unpadded base64url, one token. */
  public static String subject(String q, String id) {
    return "sluice.sched."
        + q
        + "."
        + Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(id.getBytes(StandardCharsets.UTF_8));
  }

  /** The control-bucket key of {@code q}'s firing lease. */
  public static String leaseKey(String q) {
    return "scheduler." + q;
  }

  /** The {@code Nats-Msg-Id} of the entry itself: a retried write of the same due time is one. */
  public static String entryMsgId(String id, long dueMs) {
    return "sched-" + dueMs + "-" + id;
  }

  /** The message id a cron schedule fires for the tick at {@code tickMs}. */
  public static String tickMessageId(String scheduleId, long tickMs) {
    return scheduleId + "-" + tickMs;
  }

  /**
   * Validates a cron schedule id.
   *
   * @throws IllegalArgumentException naming the rule
   */
  public static String requireScheduleId(String id) {
    if (id == null || id.length() > MAX_SCHEDULE_ID || !HeaderCheck.msgId(id)) {
      throw new IllegalArgumentException(
          "schedule id '"
              + id
              + "' must be 1-"
              + MAX_SCHEDULE_ID
              + " printable ASCII characters without spaces");
    }
    return id;
  }

  /**
   * The due time a schedule for {@code requestedMs} gets at {@code nowMs}: a time in the past is
   * due now.
   *
   * @throws IllegalArgumentException when it lies more than {@link #MAX_DELAY} ahead
   */
  public static long dueAt(long requestedMs, long nowMs) {
    if (requestedMs - nowMs > MAX_DELAY.toMillis()) {
      throw new IllegalArgumentException(
          "a message can be scheduled at most "
              + MAX_DELAY.toDays()
              + " days ahead; asked for "
              + Duration.ofMillis(requestedMs - nowMs)
              + ". Store it elsewhere and schedule it closer to its time.");
    }
    return Math.max(requestedMs, nowMs);
  }

  /** Whether header {@code name} belongs to the entry only and is not copied into the message. */
  public static boolean entryOnly(String name) {
    return ENTRY_ONLY.contains(name.toLowerCase(Locale.ROOT));
  }

  /** The headers of a one-shot or cron entry for {@code m}, due at {@code dueMs}. */
  public static Headers entryHeaders(
      OutgoingMessage m,
      String id,
      long dueMs,
      String traceparent,
      String producerId,
      long nowMs,
      CronSpec cron) {
    Headers h = new Headers();
    if (cron == null) {
      // A retried write of a one-shot schedule is dropped by the stream's duplicate window. A cron
      // entry has none: writing it again replaces it, which is how it is redefined.
      h.put(Protocol.H_MSG_ID, entryMsgId(id, dueMs));
    }
    h.put(Protocol.H_PROTOCOL, Integer.toString(Protocol.VERSION));
    h.put(H_SCHEDULE_ID, id);
    h.put(H_DUE_AT, Long.toString(dueMs));
    if (cron != null) {
      h.put(H_CRON, cron.expression());
      h.put(H_CRON_ZONE, cron.zone().getId());
    }
    h.put(Protocol.H_TYPE, m.type());
    h.put(Protocol.H_TYPE_VERSION, Integer.toString(m.version()));
    if (!m.contentType().equals(Protocol.DEFAULT_CONTENT_TYPE)) {
      h.put(Protocol.H_CONTENT_TYPE, m.contentType());
    }
    h.put(Protocol.H_TRACEPARENT, traceparent);
    if (m.tracestate() != null) {
      h.put(Protocol.H_TRACESTATE, m.tracestate());
    }
    h.put(Protocol.H_PRODUCER, producerId);
    h.put(Protocol.H_SENT_AT, Long.toString(nowMs));
    if (m.fairnessKey() != null) {
      h.put(Protocol.H_FAIRNESS_KEY, m.fairnessKey()); // §15.3: the fired message keeps its key
    }
    m.headers().forEach(h::put);
    return h;
  }

  /**
   * The same entry due at {@code nextDueMs} instead: how a cron schedule moves to its next tick.
   */
  public static Headers advanced(Headers entry, long nextDueMs) {
    Headers h = new Headers();
    for (String k : entry.keySet()) {
      h.put(k, entry.get(k));
    }
    h.remove(Protocol.H_MSG_ID);
    h.put(H_DUE_AT, Long.toString(nextDueMs));
    return h;
  }
}
