package dev.sluice;

import java.time.Duration;
import java.util.Optional;

/**
 * Thrown by a handler when the system it calls is overloaded (an HTTP 429 or 503, a full connection
 * pool): the message is handled again on this worker after {@link #retryAfter()} (or the worker's
 * back-off when none is given) <em>without counting as a failed attempt</em>, so pushback never
 * dead-letters a message (protocol §15.1). The worker also lowers the capacity it advertises, so
 * the producers of the whole fleet slow down (see {@link PushbackPolicy}).
 *
 * <p>The worker finds this exception also as the cause (at any depth) of what the handler chain
 * throws, so a middleware that wraps exceptions keeps the signal. A middleware that catches it and
 * returns normally turns it into a success: the message is acked.
 */
public class DownstreamOverloadedException extends SluiceException {
  private static final long serialVersionUID = 1L;

  private final Duration retryAfter;

  /** Overloaded, retry after the worker's back-off delay. */
  public DownstreamOverloadedException(String message) {
    this(message, null, null);
  }

  /**
   * Overloaded, retry after {@code retryAfter} (for example an HTTP {@code Retry-After}); null
   * means the worker's back-off delay.
   *
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public DownstreamOverloadedException(String message, Duration retryAfter) {
    this(message, retryAfter, null);
  }

  /**
   * Overloaded because of {@code cause}, retry after {@code retryAfter} (null: the worker's
   * back-off delay).
   *
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public DownstreamOverloadedException(String message, Duration retryAfter, Throwable cause) {
    super(message, cause);
    if (retryAfter != null && retryAfter.isNegative()) {
      throw new IllegalArgumentException("retryAfter must be >= 0, got " + retryAfter);
    }
    this.retryAfter = retryAfter;
  }

  /** The delay the downstream asked for, if it said one. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /**
   * The overload signal in {@code t} or its causes (at most 16 levels deep, cycles stopped), or
   * null.
   */
  public static DownstreamOverloadedException find(Throwable t) {
    Throwable c = t;
    for (int i = 0; i < 16 && c != null; i++) {
      if (c instanceof DownstreamOverloadedException o) {
        return o;
      }
      Throwable next = c.getCause();
      if (next == c) {
        return null;
      }
      c = next;
    }
    return null;
  }

  @Override
  public String toString() {
    return super.toString() + (retryAfter == null ? "" : " (retry after " + retryAfter + ")");
  }
}
