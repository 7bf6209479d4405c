package dev.sluice;

import java.time.Duration;
import java.util.Objects;

/**
 * When a worker gives up on a message and dead-letters it (protocol §7.2): after {@code
 * maxAttempts} failed handler runs ({@code max-attempts}), after {@code maxDeliveries} deliveries
 * without an outcome ({@code max-deliveries}), or when no live worker handles its type and version
 * for longer than {@code grace} (meanwhile it is NAKed with {@code graceNakDelay}).
 *
 * <p>The rule {@code maxDeliveries - maxAttempts >= ceil(grace / graceNakDelay)} keeps grace NAKs
 * alone from exhausting a message's deliveries. When {@code maxDeliveries} is not set it is derived
 * so that the rule holds (at least 10); when it is set, {@link Builder#build()} checks the rule.
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * DeadLetterPolicy p = DeadLetterPolicy.builder().maxAttempts(8).build(); // maxDeliveries 13
 * }</pre>
 */
public final class DeadLetterPolicy {
  private static final DeadLetterPolicy DEFAULTS = builder().build();

  private final int maxAttempts;
  private final int maxDeliveries;
  private final Duration grace;
  private final Duration graceNakDelay;

  private DeadLetterPolicy(Builder b, int maxDeliveries) {
    this.maxAttempts = b.maxAttempts;
    this.maxDeliveries = maxDeliveries;
    this.grace = b.grace;
    this.graceNakDelay = b.graceNakDelay;
  }

  /** The defaults: 5 attempts, 10 deliveries, a grace of 25 s NAKed every 5 s. */
  public static DeadLetterPolicy defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Handler runs before dead-lettering with {@code max-attempts}. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** Deliveries before dead-lettering with {@code max-deliveries}. */
  public int maxDeliveries() {
    return maxDeliveries;
  }

  /** How long a message nobody handles is left for other workers. */
  public Duration grace() {
    return grace;
  }

  /** The NAK delay while a message is within its grace period. */
  public Duration graceNakDelay() {
    return graceNakDelay;
  }

  @Override
  public String toString() {
    return "DeadLetterPolicy[maxAttempts="
        + maxAttempts
        + ", maxDeliveries="
        + maxDeliveries
        + ", grace="
        + grace
        + ", graceNakDelay="
        + graceNakDelay
        + "]";
  }

  /** Builds a {@link DeadLetterPolicy}; each setter validates its value. Not thread-safe. */
  public static final class Builder {
    private int maxAttempts = 5;
    private Integer maxDeliveries;
    private Duration grace = Duration.ofSeconds(25);
    private Duration graceNakDelay = Duration.ofSeconds(5);

    private Builder() {}

    /**
     * Handler runs before dead-lettering with {@code max-attempts}; default 5.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public Builder maxAttempts(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxAttempts must be >= 1, got " + n);
      }
      this.maxAttempts = n;
      return this;
    }

    /**
     * Deliveries before dead-lettering with {@code max-deliveries}; default {@code max(10,
     * maxAttempts + ceil(grace / graceNakDelay))}.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public Builder maxDeliveries(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxDeliveries must be >= 1, got " + n);
      }
      this.maxDeliveries = n;
      return this;
    }

    /**
     * How long a message of a type or version no live worker handles is left for other workers;
     * default 25 s. Zero dead-letters it at once.
     *
     * @throws NullPointerException if {@code grace} is null
     * @throws IllegalArgumentException if {@code grace} is negative
     */
    public Builder grace(Duration grace) {
      Objects.requireNonNull(grace, "grace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("grace must be >= 0, got " + grace);
      }
      this.grace = grace;
      return this;
    }

    /**
     * The NAK delay within the grace period; default 5 s.
     *
     * @throws NullPointerException if {@code delay} is null
     * @throws IllegalArgumentException if {@code delay} is not positive
     */
    public Builder graceNakDelay(Duration delay) {
      this.graceNakDelay = Policies.positive("graceNakDelay", delay);
      return this;
    }

    /**
     * Builds the policy.
     *
     * @throws IllegalArgumentException if {@code maxDeliveries} was set and {@code maxDeliveries -
     *     maxAttempts < ceil(grace / graceNakDelay)}; the message names both fields and values
     */
    public DeadLetterPolicy build() {
      long graceNaks = graceNaks(grace, graceNakDelay);
      if (maxDeliveries == null) {
        long derived = Math.max(10, maxAttempts + graceNaks);
        return new DeadLetterPolicy(this, (int) Math.min(Integer.MAX_VALUE, derived));
      }
      if ((long) maxDeliveries - maxAttempts < graceNaks) {
        throw new IllegalArgumentException(
            "maxDeliveries ("
                + maxDeliveries
                + ") - maxAttempts ("
                + maxAttempts
                + ") must be >= ceil(grace / graceNakDelay) ("
                + grace
                + " / "
                + graceNakDelay
                + " = "
                + graceNaks
                + "), so grace NAKs alone never exhaust a message's deliveries");
      }
      return new DeadLetterPolicy(this, maxDeliveries);
    }

    private static long graceNaks(Duration grace, Duration delay) {
      return (grace.toNanos() + delay.toNanos() - 1) / delay.toNanos();
    }
  }
}
