package dev.sluice.spi;

import dev.sluice.DeadLetterReason;
import java.time.Duration;

/**
 * Told of how a worker settled each delivery: for metrics of one's own, alerts on dead letters,
 * audit logs or tests. Called on the handler thread right after the outcome was sent to the server
 * (after the record's PubAck for a dead letter), so keep it fast. Implementations must be
 * thread-safe: handlers run concurrently. An exception thrown here is logged at WARN and ignored;
 * it never changes the outcome.
 *
 * <pre>{@code
 * sluice.worker("orders")
 *     .handle(ORDER, handler)
 *     .outcomeListener(new OutcomeListener() {
 *       public void deadLettered(Settled s, DeadLetterReason reason, String error) {
 *         alerts.raise(s.messageId() + ": " + reason.code());
 *       }
 *     })
 *     .start();
 * }</pre>
 */
public interface OutcomeListener {
  /**
   * One settled delivery.
   *
   * @param queue the queue
   * @param messageId its {@code Nats-Msg-Id} as received (also when it failed validation), or
   *     {@code "?"} when it had none
   * @param attempt the delivery count: 1 on the first delivery
   * @param streamSequence its sequence in the work stream
   */
  record Settled(String queue, String messageId, long attempt, long streamSequence) {}

  /** The handler succeeded and the message was acked. */
  default void processed(Settled delivery) {}

  /**
   * The handler (or a middleware) failed and the message was NAKed to be delivered again after
   * {@code delay}.
   */
  default void retrying(Settled delivery, Duration delay, Throwable failure) {}

  /** The dead-letter record was stored and the message termed. */
  default void deadLettered(Settled delivery, DeadLetterReason reason, String error) {}
}
