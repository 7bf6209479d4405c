package dev.sluice;

/**
 * A message the work stream acknowledged: it is stored durably.
 *
 * @param messageId the {@code Nats-Msg-Id}
 * @param streamSequence its sequence in the work stream
 * @param duplicate true when the stream already had a message with this id
 * @param traceparent the trace context the message carries
 */
public record SendResult(
    String messageId, long streamSequence, boolean duplicate, String traceparent) {}
