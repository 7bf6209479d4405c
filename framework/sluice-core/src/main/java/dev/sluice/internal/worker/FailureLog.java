package dev.sluice.internal.worker;

import dev.sluice.internal.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides which handler failures reach the log at WARN: the first failure of each kind (exception
 * class and payload type) in a {@link #WINDOW}, so that an operator who reads the worker log finds
 * the error and the message id; repeats within the window go to DEBUG and are counted in the next
 * WARN of the kind. A poison message retried every few milliseconds then costs one line a minute,
 * not thousands. Thread-safe.
 *
 * <p>Rejected: WARN for every failure (a failing dependency floods the log at the message rate) and
 * DEBUG for every failure (the error that {@code sluice explain} sends operators to read is not
 * there).
 */
final class FailureLog {
  static final Duration WINDOW = Duration.ofMinutes(1);
  // Distinct kinds remembered; past this the map starts over (at worst, more WARN lines).
  private static final int MAX_KINDS = 1024;

  private final Clock clock;
  private final Map<String, Kind> kinds = new ConcurrentHashMap<>();

  FailureLog(Clock clock) {
    this.clock = clock;
  }

  private static final class Kind {
    long windowStart;
    long suppressed;
  }

  /**
   * Records one failure of {@code kind}: returns how many of this kind were suppressed since its
   * last WARN (0 or more) when this one is to be logged at WARN, or -1 when it is to be logged at
   * DEBUG.
   */
  long admit(String kind) {
    if (kinds.size() > MAX_KINDS) {
      kinds.clear();
    }
    long now = clock.nanos();
    Kind k = kinds.computeIfAbsent(kind, x -> new Kind());
    synchronized (k) {
      if (k.windowStart != 0 && now - k.windowStart < WINDOW.toNanos()) {
        k.suppressed++;
        return -1;
      }
      long suppressed = k.suppressed;
      k.windowStart = now == 0 ? 1 : now;
      k.suppressed = 0;
      return suppressed;
    }
  }
}
