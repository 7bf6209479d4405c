package dev.sluice;

import java.time.Instant;

/**
 * A message the schedule stream stored: it enters the queue at {@code dueAt}, spending a credit
 * then and not before.
 *
 * @param messageId the {@code Nats-Msg-Id} it will carry; pass it to {@link QueueProducer#cancel}
 * @param dueAt when it is due (a time asked for in the past is due at once)
 * @param traceparent the trace context the message will continue
 * @param duplicate true when this exact schedule was stored already (a retried call)
 */
public record ScheduledSend(
    String messageId, Instant dueAt, String traceparent, boolean duplicate) {}
