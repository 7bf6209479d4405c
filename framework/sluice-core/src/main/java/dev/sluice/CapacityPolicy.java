package dev.sluice;

import java.time.Duration;

/**
 * What capacity a worker advertises (protocol §5.2): {@link #fixed()} advertises {@code concurrency
 * + prefetch}; {@link #latencyTarget(Duration, int)} advertises {@code concurrency + service rate ×
 * target} (Little's law), so a message waits about {@code target} in the queue whatever the
 * handler's speed. Immutable and thread-safe.
 */
public final class CapacityPolicy {
  private static final CapacityPolicy FIXED = new CapacityPolicy(null, 0);

  private final Duration target;
  private final int maxCapacity;

  private CapacityPolicy(Duration target, int maxCapacity) {
    this.target = target;
    this.maxCapacity = maxCapacity;
  }

  /** Advertises {@code concurrency + prefetch}; the default. */
  public static CapacityPolicy fixed() {
    return FIXED;
  }

  /**
   * Advertises {@code concurrency + rate × target}, at least {@code concurrency} and at most {@code
   * maxCapacity}.
   *
   * @throws IllegalArgumentException if {@code target} is not positive or {@code maxCapacity < 1}
   */
  public static CapacityPolicy latencyTarget(Duration target, int maxCapacity) {
    Policies.positive("latencyTarget", target);
    if (maxCapacity < 1) {
      throw new IllegalArgumentException("maxCapacity must be >= 1, got " + maxCapacity);
    }
    return new CapacityPolicy(target, maxCapacity);
  }

  /** The queue-wait target, or null for {@link #fixed()}. */
  public Duration target() {
    return target;
  }

  /** The upper bound of a latency-target capacity (0 for {@link #fixed()}). */
  public int maxCapacity() {
    return maxCapacity;
  }

  @Override
  public String toString() {
    return target == null
        ? "CapacityPolicy[fixed]"
        : "CapacityPolicy[latencyTarget=" + target + ", max=" + maxCapacity + "]";
  }
}
