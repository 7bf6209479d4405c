package dev.sluice.internal.credit;

import java.time.Duration;

/**
 * The capacity a worker advertises (protocol §5.2), in one formula: static {@code concurrency +
 * prefetch}, or from a latency target by Little's law, {@code clamp(concurrency + ceil(rate ×
 * target) + allowance, concurrency, maxCapacity)}. The allowance is the credit in transit (owed
 * carry, a token on its way or at a producer) that sits in the window but not in the backlog; the
 * carry threshold itself is sized without it. Immutable and thread-safe.
 */
public final class Capacity {
  private final int concurrency;
  private final int prefetch;
  private final Duration target;
  private final int maxCapacity;

  /**
   * A formula for a worker with {@code concurrency} handlers and {@code prefetch}; {@code target}
   * null for the static capacity.
   */
  public Capacity(int concurrency, int prefetch, Duration target, int maxCapacity) {
    this.concurrency = concurrency;
    this.prefetch = prefetch;
    this.target = target;
    this.maxCapacity = maxCapacity;
  }

  /** The capacity at service rate {@code rate} (messages per second) with {@code allowance}. */
  public int of(double rate, int allowance) {
    if (target == null) {
      return concurrency + prefetch;
    }
    long c = concurrency + (long) Math.ceil(rate * target.toNanos() / 1e9) + allowance;
    return (int) Math.max(concurrency, Math.min(maxCapacity, c));
  }

  /** True when the capacity follows the service rate. */
  public boolean followsRate() {
    return target != null;
  }
}
