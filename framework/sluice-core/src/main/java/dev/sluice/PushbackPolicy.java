package dev.sluice;

import java.time.Duration;

/**
 * How a worker's advertised capacity follows downstream pushback (protocol §15.1), by AIMD as TCP
 * does: a {@link DownstreamOverloadedException} multiplies the capacity by {@link #decrease()} (at
 * most once per {@link #decreaseInterval()}, so a burst of pushbacks from the messages in hand
 * counts once), and every {@link #increaseInterval()} in which handlers succeeded and none pushed
 * back adds 1, up to the configured capacity. The capacity never goes below {@link #floor()}
 * (default 1), so a queue whose every handler pushes back stays alive and finds out when the
 * downstream recovers. While lowered, the worker also keeps no more messages in hand, and runs no
 * more handlers at once, than the lowered capacity.
 *
 * <p>On by default: only a handler that throws {@link DownstreamOverloadedException} lowers the
 * capacity, so a worker whose handlers never do behaves exactly as without it. {@link #disabled()}
 * keeps the capacity fixed; the exception then still retries without counting an attempt. Immutable
 * and thread-safe.
 */
public final class PushbackPolicy {
  private static final PushbackPolicy DISABLED =
      new PushbackPolicy(1.0, 0, Duration.ZERO, Duration.ZERO);
  private static final PushbackPolicy DEFAULTS = builder().build();

  private final double decrease;
  private final int floor;
  private final Duration decreaseInterval;
  private final Duration increaseInterval;

  private PushbackPolicy(
      double decrease, int floor, Duration decreaseInterval, Duration increaseInterval) {
    this.decrease = decrease;
    this.floor = floor;
    this.decreaseInterval = decreaseInterval;
    this.increaseInterval = increaseInterval;
  }

  /** The default: ×0.5 at most once a second, +1 a second while handlers succeed, floor 1. */
  public static PushbackPolicy defaults() {
    return DEFAULTS;
  }

  /** Never lowers the capacity. */
  public static PushbackPolicy disabled() {
    return DISABLED;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** False for {@link #disabled()}. */
  public boolean enabled() {
    return this != DISABLED;
  }

  /** The factor a pushback multiplies the capacity by, in (0, 1). */
  public double decrease() {
    return decrease;
  }

  /** The lowest capacity pushback can lower to. */
  public int floor() {
    return floor;
  }

  /** The shortest time between two decreases. */
  public Duration decreaseInterval() {
    return decreaseInterval;
  }

  /** How often a lowered capacity grows by 1 while handlers succeed. */
  public Duration increaseInterval() {
    return increaseInterval;
  }

  @Override
  public String toString() {
    return enabled()
        ? "PushbackPolicy[x"
            + decrease
            + " per "
            + decreaseInterval
            + ", +1 per "
            + increaseInterval
            + ", floor "
            + floor
            + "]"
        : "PushbackPolicy[disabled]";
  }

  /** Builds a {@link PushbackPolicy}; each setter validates its value. Not thread-safe. */
  public static final class Builder {
    private double decrease = 0.5;
    private int floor = 1;
    private Duration decreaseInterval = Duration.ofSeconds(1);
    private Duration increaseInterval = Duration.ofSeconds(1);

    private Builder() {}

    /**
     * The factor a pushback multiplies the capacity by; default 0.5.
     *
     * @throws IllegalArgumentException if {@code factor} is not in (0, 1)
     */
    public Builder decrease(double factor) {
      if (!(factor > 0.0 && factor < 1.0)) {
        throw new IllegalArgumentException(
            "decrease must be in (0, 1), got " + factor + ": it multiplies the capacity");
      }
      this.decrease = factor;
      return this;
    }

    /**
     * The lowest capacity; default 1. {@code Worker.Builder.start()} checks that it is at most the
     * worker's configured capacity.
     *
     * @throws IllegalArgumentException if {@code n} is not in [1, 4096]: a floor of 0 would stop
     *     the queue for good once every handler pushed back
     */
    public Builder floor(int n) {
      this.floor = Policies.inRange("floor", n, 1, 4096);
      return this;
    }

    /**
     * The shortest time between two decreases; default 1 s. Pushbacks within it (from messages that
     * were already in hand) change nothing.
     *
     * @throws IllegalArgumentException if {@code interval} is not positive
     */
    public Builder decreaseInterval(Duration interval) {
      this.decreaseInterval = Policies.positive("decreaseInterval", interval);
      return this;
    }

    /**
     * How often a lowered capacity grows by 1 while handlers succeed; default 1 s.
     *
     * @throws IllegalArgumentException if {@code interval} is not positive
     */
    public Builder increaseInterval(Duration interval) {
      this.increaseInterval = Policies.positive("increaseInterval", interval);
      return this;
    }

    /** Builds the policy. */
    public PushbackPolicy build() {
      return new PushbackPolicy(decrease, floor, decreaseInterval, increaseInterval);
    }
  }
}
