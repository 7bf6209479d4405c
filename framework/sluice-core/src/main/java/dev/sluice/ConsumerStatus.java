package dev.sluice;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The state of a queue's worker consumer ({@code workers} on the work stream) at one reading.
 * Immutable and thread-safe.
 *
 * @param inFlight messages delivered to workers and not yet acknowledged
 * @param redelivered messages delivered more than once and not yet acknowledged
 * @param paused whether the consumer is paused (no worker can pull)
 * @param pauseRemaining how long the pause lasts, when paused with an end
 * @param lastAckAt when the consumer's ack floor last moved, empty if it never did
 * @param lastDeliveredAt when the consumer last delivered a message to a worker, empty if never
 */
public record ConsumerStatus(
    long inFlight,
    long redelivered,
    boolean paused,
    Optional<Duration> pauseRemaining,
    Optional<Instant> lastAckAt,
    Optional<Instant> lastDeliveredAt) {

  /** Rejects null optionals. */
  public ConsumerStatus {
    Objects.requireNonNull(pauseRemaining, "pauseRemaining");
    Objects.requireNonNull(lastAckAt, "lastAckAt");
    Objects.requireNonNull(lastDeliveredAt, "lastDeliveredAt");
  }
}
