package dev.sluice.conformance;

import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waits on a condition instead of sleeping for a guessed time. A condition that throws counts as
 * not yet true (the server may be between states). Thread-safe.
 */
final class Waits {
  private static final Duration POLL = Duration.ofMillis(20);

  private Waits() {}

  /**
   * Polls {@code condition} until it is true or {@code timeout} passes. Returns whether it became
   * true; on a timeout it says on stderr what it waited for, so that the check that follows (which
   * reports the actual state) can be read next to it.
   */
  static boolean until(Callable<Boolean> condition, Duration timeout, String what) {
    try {
      Awaitility.await(what)
          .pollDelay(Duration.ZERO)
          .pollInterval(POLL)
          .atMost(timeout)
          .ignoreExceptions()
          .until(condition);
      return true;
    } catch (ConditionTimeoutException e) {
      Report.progress("gave up after " + timeout.toMillis() + " ms waiting for " + what);
      return false;
    }
  }
}
