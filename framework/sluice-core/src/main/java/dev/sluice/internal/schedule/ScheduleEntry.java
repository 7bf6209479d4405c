package dev.sluice.internal.schedule;

import dev.sluice.OutgoingMessage;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.impl.Headers;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One stored schedule (protocol §13.2), as read back from the schedule stream. Immutable.
 *
 * @param subject its subject in the schedule stream
 * @param sequence its sequence there (the fencing token of a cron advance, §13.4)
 * @param id the message id (one-shot) or schedule id (cron)
 * @param dueMs when it is due, Unix milliseconds
 * @param cron the cron expression, or null for a one-shot schedule
 * @param zone the cron's zone id, or null
 * @param headers every stored header
 * @param body the payload
 */
public record ScheduleEntry(
    String subject,
    long sequence,
    String id,
    long dueMs,
    String cron,
    String zone,
    Headers headers,
    byte[] body) {

  /**
   * Reads an entry from a stored message.
   *
   * @throws IllegalArgumentException when a required header is missing or malformed, naming it
   */
  public static ScheduleEntry of(String subject, long sequence, Headers h, byte[] body) {
    if (h == null) {
      throw new IllegalArgumentException("schedule entry " + subject + " has no headers");
    }
    String id = required(h, ScheduleWire.H_SCHEDULE_ID, subject);
    long due;
    try {
      due = Long.parseLong(required(h, ScheduleWire.H_DUE_AT, subject));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "schedule entry " + subject + ": " + ScheduleWire.H_DUE_AT + " is not a number");
    }
    required(h, Protocol.H_TYPE, subject);
    required(h, Protocol.H_TYPE_VERSION, subject);
    return new ScheduleEntry(
        subject,
        sequence,
        id,
        due,
        h.getFirst(ScheduleWire.H_CRON),
        h.getFirst(ScheduleWire.H_CRON_ZONE),
        h,
        body == null ? new byte[0] : body);
  }

  private static String required(Headers h, String name, String subject) {
    String v = h.getFirst(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("schedule entry " + subject + " has no " + name);
    }
    return v;
  }

  public boolean recurring() {
    return cron != null;
  }

  public String type() {
    return headers.getFirst(Protocol.H_TYPE);
  }

  public int version() {
    return Integer.parseInt(headers.getFirst(Protocol.H_TYPE_VERSION));
  }

  public String traceparent() {
    return headers.getFirst(Protocol.H_TRACEPARENT);
  }

  /** The producer that wrote the schedule. */
  public String producer() {
    return headers.getFirst(Protocol.H_PRODUCER);
  }

  /** When the schedule was written, Unix milliseconds, or 0 when unknown. */
  public long createdMs() {
    String v = headers.getFirst(Protocol.H_SENT_AT);
    try {
      return v == null ? 0 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The id of the message this entry fires now: its id, or for a cron the id of this tick. */
  public String firedMessageId() {
    return recurring() ? ScheduleWire.tickMessageId(id, dueMs) : id;
  }

  /** The application headers: every header that is not the protocol's. */
  public Map<String, String> applicationHeaders() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String k : headers.keySet()) {
      if (!ScheduleWire.entryOnly(k) && !k.startsWith("Sluice-") && !k.startsWith("Nats-")) {
        out.put(k, headers.getFirst(k));
      }
    }
    return out;
  }

  /** The message this entry fires (§13.4): the stored one, with the fired message id. */
  public OutgoingMessage toMessage() {
    OutgoingMessage.Builder b =
        OutgoingMessage.builder(type(), version(), body).messageId(firedMessageId());
    String ct = headers.getFirst(Protocol.H_CONTENT_TYPE);
    if (ct != null) {
      b.contentType(ct);
    }
    if (traceparent() != null) {
      b.traceparent(traceparent());
    }
    String ts = headers.getFirst(Protocol.H_TRACESTATE);
    if (ts != null) {
      b.tracestate(ts);
    }
    String key = headers.getFirst(Protocol.H_FAIRNESS_KEY);
    if (key != null && HeaderCheck.fairnessKey(key)) {
      b.fairnessKey(key); // §15.3; a malformed one (a raw writer's) is dropped, never an error
    }
    applicationHeaders().forEach(b::header);
    return b.build();
  }
}
