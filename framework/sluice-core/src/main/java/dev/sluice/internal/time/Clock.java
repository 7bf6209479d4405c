package dev.sluice.internal.time;

/**
 * The time the runtime reads, injected (as Caffeine injects its {@code Ticker}) so that the credit
 * wallet, the reconciler's audits and the watchdog can be unit-tested with a fake clock.
 * Implementations are thread-safe.
 */
public interface Clock {
  /** A monotonic reading in nanoseconds, for intervals and deadlines. */
  long nanos();

  /** Wall-clock milliseconds since the epoch, for what other processes read (heartbeats). */
  long millis();

  /** The system's clocks. */
  static Clock system() {
    return SystemClock.INSTANCE;
  }
}
