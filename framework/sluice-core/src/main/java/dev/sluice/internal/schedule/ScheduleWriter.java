package dev.sluice.internal.schedule;

import dev.sluice.OutgoingMessage;
import dev.sluice.RecurringSchedule;
import dev.sluice.ScheduledSend;
import dev.sluice.internal.producer.ProducerRuntime;
import dev.sluice.internal.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.CompletableFuture;

/**
 * A producer's scheduling side (protocol §13.3): validates the time, applies the send's version
 * rule, stores the entry with the trace context the message will continue, and takes no credit.
 * Thread-safe.
 */
public final class ScheduleWriter {
  private final ProducerRuntime runtime;
  private final ScheduleStore store;
  private final Clock clock;

  public ScheduleWriter(ProducerRuntime runtime, ScheduleStore store, Clock clock) {
    this.runtime = runtime;
    this.store = store;
    this.clock = clock;
  }

  /**
   * Schedules {@code m} for {@code requestedMs}. Validation errors are thrown at once (they are the
   * caller's mistake); storing fails the future.
   *
   * @throws IllegalArgumentException the time lies beyond {@link ScheduleWire#MAX_DELAY}
   * @throws dev.sluice.UnsupportedVersionException as a send would
   */
  public CompletableFuture<ScheduledSend> at(OutgoingMessage m, long requestedMs) {
    long now = clock.millis();
    long due = ScheduleWire.dueAt(requestedMs, now);
    runtime.checkVersion(m.type(), m.version());
    String traceparent = runtime.traceparentFor(m);
    var headers =
        ScheduleWire.entryHeaders(
            m, m.messageId(), due, traceparent, runtime.producerId(), now, null);
    return store
        .write(m.messageId(), headers, m.payload())
        .thenApply(
            ack ->
                new ScheduledSend(
                    m.messageId(), Instant.ofEpochMilli(due), traceparent, ack.isDuplicate()));
  }

  /**
   * Stores (or replaces) recurring schedule {@code scheduleId}.
   *
   * @throws IllegalArgumentException the id or the expression is invalid (naming the field), or the
   *     expression never fires
   * @throws dev.sluice.UnsupportedVersionException as a send would
   */
  public CompletableFuture<RecurringSchedule> recurring(
      String scheduleId, String cron, ZoneId zone, OutgoingMessage template) {
    ScheduleWire.requireScheduleId(scheduleId);
    CronSpec spec = CronSpec.parse(cron, zone);
    long now = clock.millis();
    long next =
        spec.nextAfter(now)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "cron expression '" + cron + "' never fires after now"));
    ScheduleWire.dueAt(next, now);
    runtime.checkVersion(template.type(), template.version());
    String traceparent = runtime.traceparentFor(template);
    var headers =
        ScheduleWire.entryHeaders(
            template, scheduleId, next, traceparent, runtime.producerId(), now, spec);
    return store
        .write(scheduleId, headers, template.payload())
        .thenApply(
            ack ->
                new RecurringSchedule(
                    scheduleId, spec.expression(), spec.zone(), Instant.ofEpochMilli(next)));
  }

  /** Cancels a one-shot or recurring schedule; false when none is stored under {@code id}. */
  public boolean cancel(String id) {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("id is empty: pass a message id or a schedule id");
    }
    return store.cancel(id);
  }
}
