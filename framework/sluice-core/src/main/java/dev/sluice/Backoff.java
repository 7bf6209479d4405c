package dev.sluice;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long a worker waits before a failed message is delivered again (protocol §7.3):
 *
 * <pre>
 * d(k)  = min(maxDelay, initial × multiplier^(k−1))
 * delay = clamp(d(k) × (1 + jitter × (2u − 1)), 0, maxDelay),  u uniform in [0, 1)
 * </pre>
 *
 * <p>Immutable and thread-safe. The formula is part of the protocol, so Go and Rust workers compute
 * the same bounds; JetStream's own consumer back-off applies to ack timeouts, never to NAKs.
 */
public final class Backoff {
  private final Duration initial;
  private final double multiplier;
  private final Duration maxDelay;
  private final double jitter;

  private Backoff(Duration initial, double multiplier, Duration maxDelay, double jitter) {
    this.initial = Objects.requireNonNull(initial, "initial");
    this.maxDelay = Objects.requireNonNull(maxDelay, "maxDelay");
    if (initial.isNegative()) {
      throw new IllegalArgumentException("initial < 0");
    }
    if (maxDelay.compareTo(initial) < 0) {
      throw new IllegalArgumentException("maxDelay " + maxDelay + " < initial " + initial);
    }
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException("multiplier " + multiplier + " must be >= 1");
    }
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new IllegalArgumentException("jitter " + jitter + " must be in [0, 1]");
    }
    this.multiplier = multiplier;
    this.jitter = jitter;
  }

  /** Exponential back-off; {@code jitter} is the relative spread in [0, 1]. */
  public static Backoff exponential(
      Duration initial, double multiplier, Duration maxDelay, double jitter) {
    return new Backoff(initial, multiplier, maxDelay, jitter);
  }

  /** The same delay every time, without jitter. */
  public static Backoff fixed(Duration delay) {
    return new Backoff(delay, 1.0, delay, 0.0);
  }

  /** The default: 1 s doubling to at most 60 s, ±20 % jitter. */
  public static Backoff defaults() {
    return new Backoff(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(60), 0.2);
  }

  /** The delay before jitter, in milliseconds, for the attempt {@code k ≥ 1} that just failed. */
  public double baseMillis(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt " + attempt + " < 1");
    }
    double max = maxDelay.toNanos() / 1e6;
    double d = initial.toNanos() / 1e6 * Math.pow(multiplier, attempt - 1);
    return Math.min(max, d);
  }

  /** The delay in milliseconds for attempt {@code k} and the random draw {@code u} in [0, 1). */
  public double delayMillis(int attempt, double u) {
    double max = maxDelay.toNanos() / 1e6;
    double d = baseMillis(attempt) * (1 + jitter * (2 * u - 1));
    return Math.max(0.0, Math.min(max, d));
  }

  /** A jittered delay for attempt {@code k}. */
  public Duration delay(int attempt) {
    return delay(attempt, ThreadLocalRandom.current().nextDouble());
  }

  /**
   * The delay for attempt {@code k} and the draw {@code u} in [0, 1), as the NAK sends it: {@code
   * floor(delayMillis × 10^6)} nanoseconds (protocol §7.3).
   */
  public Duration delay(int attempt, double u) {
    return Duration.ofNanos((long) (delayMillis(attempt, u) * 1e6));
  }

  public Duration initial() {
    return initial;
  }

  public double multiplier() {
    return multiplier;
  }

  public Duration maxDelay() {
    return maxDelay;
  }

  public double jitter() {
    return jitter;
  }

  @Override
  public String toString() {
    return "Backoff[initial="
        + initial
        + ", multiplier="
        + multiplier
        + ", max="
        + maxDelay
        + ", jitter="
        + jitter
        + "]";
  }
}
