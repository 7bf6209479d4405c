package dev.sluice.internal.producer;

import dev.sluice.VersionPolicy;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * The settings a producer runs with, already validated by {@code QueueProducer.Builder}.
 *
 * @param queue the queue's name
 * @param producerId this producer's id (report key, {@code Sluice-Producer} header)
 * @param prefetch at most this many single-token pulls outstanding (§6.2)
 * @param acquireTimeout how long a send waits for a credit (§6.8)
 * @param pullExpiry expiry of one pull request (§6.2)
 * @param reportInterval how often the wallet is settled and the report written (§6.1)
 * @param reportTtl the report's time to live (§6.1)
 * @param idleReturn how long a token with no waiting send is held (§6.7)
 * @param publishTimeout how long one publish try waits for its PubAck (§6.5)
 * @param versionPolicy what a send of a type and version no live worker handles does (§4.3)
 * @param metrics where the producer's meters go ({@link Metrics#NOOP} without a registry)
 * @param clock the time the runtime reads
 * @param fairnessWeights this producer's weight per fairness key (§15.3), each at least 1; a key
 *     not here takes the queue's weight, else 1
 */
public record ProducerSettings(
    String queue,
    String producerId,
    int prefetch,
    Duration acquireTimeout,
    Duration pullExpiry,
    Duration reportInterval,
    Duration reportTtl,
    Duration idleReturn,
    Duration publishTimeout,
    VersionPolicy versionPolicy,
    Metrics metrics,
    Clock clock,
    Map<String, Integer> fairnessWeights) {

  public ProducerSettings {
    fairnessWeights = Map.copyOf(fairnessWeights);
  }

  /** Settings without producer weights for fairness keys. */
  public ProducerSettings(
      String queue,
      String producerId,
      int prefetch,
      Duration acquireTimeout,
      Duration pullExpiry,
      Duration reportInterval,
      Duration reportTtl,
      Duration idleReturn,
      Duration publishTimeout,
      VersionPolicy versionPolicy,
      Metrics metrics,
      Clock clock) {
    this(
        queue,
        producerId,
        prefetch,
        acquireTimeout,
        pullExpiry,
        reportInterval,
        reportTtl,
        idleReturn,
        publishTimeout,
        versionPolicy,
        metrics,
        clock,
        Map.of());
  }
}
