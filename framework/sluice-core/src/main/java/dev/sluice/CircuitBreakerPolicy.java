package dev.sluice;

import java.time.Duration;

/**
 * When a worker stops pulling because its handler fails for most messages: the circuit opens after
 * {@code failures} failures among the last {@code window} handler runs, advertises zero capacity,
 * and after {@code delay} pulls one message at a time, each a probe (protocol §7.6). A probe whose
 * handler succeeds closes the circuit, one whose handler fails opens it for another {@code delay};
 * a probe message settled without running the handler (rejected, a duplicate, undecodable, a type
 * this worker does not handle) decides nothing and the next message probes; a probe that finds the
 * queue empty closes the circuit, because an open worker on a queue it serves alone gets no credit
 * minted and so no message to probe with. Only probes decide while the circuit is open: runs that
 * started before it opened do not. {@link #disabled()} never opens and costs nothing per message.
 * Explicit rejections ({@link RejectMessageException}) do not count as failures. Immutable and
 * thread-safe.
 */
public final class CircuitBreakerPolicy {
  private static final CircuitBreakerPolicy DISABLED =
      new CircuitBreakerPolicy(0, 0, Duration.ZERO);
  private static final CircuitBreakerPolicy DEFAULTS = builder().build();

  private final int failures;
  private final int window;
  private final Duration delay;

  private CircuitBreakerPolicy(int failures, int window, Duration delay) {
    this.failures = failures;
    this.window = window;
    this.delay = delay;
  }

  /** The default: opens after 10 failures in the last 20 runs, probes after 5 s. */
  public static CircuitBreakerPolicy defaults() {
    return DEFAULTS;
  }

  /** A circuit that never opens: the worker keeps pulling however often its handler fails. */
  public static CircuitBreakerPolicy disabled() {
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

  /** Failures among the last {@link #window()} runs that open the circuit (0 when disabled). */
  public int failures() {
    return failures;
  }

  /** How many of the latest handler runs are counted (0 when disabled). */
  public int window() {
    return window;
  }

  /** How long an open circuit waits before it probes. */
  public Duration delay() {
    return delay;
  }

  @Override
  public String toString() {
    return enabled()
        ? "CircuitBreakerPolicy[" + failures + " of " + window + ", delay=" + delay + "]"
        : "CircuitBreakerPolicy[disabled]";
  }

  /** Builds a {@link CircuitBreakerPolicy}; each setter validates its value. Not thread-safe. */
  public static final class Builder {
    private int failures = 10;
    private int window = 20;
    private Duration delay = Duration.ofSeconds(5);

    private Builder() {}

    /**
     * Failures that open the circuit; default 10.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public Builder failures(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("failures must be >= 1, got " + n);
      }
      this.failures = n;
      return this;
    }

    /**
     * How many of the latest handler runs are counted; default 20, at most 10,000.
     *
     * @throws IllegalArgumentException if {@code n} is not in [1, 10000]
     */
    public Builder window(int n) {
      this.window = Policies.inRange("window", n, 1, 10_000);
      return this;
    }

    /**
     * How long an open circuit waits before a probe; default 5 s.
     *
     * @throws IllegalArgumentException if {@code delay} is not positive
     */
    public Builder delay(Duration delay) {
      this.delay = Policies.positive("delay", delay);
      return this;
    }

    /**
     * Builds the policy.
     *
     * @throws IllegalArgumentException if {@code failures > window}, naming both values
     */
    public CircuitBreakerPolicy build() {
      if (failures > window) {
        throw new IllegalArgumentException(
            "failures (" + failures + ") must be <= window (" + window + ")");
      }
      return new CircuitBreakerPolicy(failures, window, delay);
    }
  }
}
