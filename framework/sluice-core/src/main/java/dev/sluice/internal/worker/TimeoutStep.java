package dev.sluice.internal.worker;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * Step 8: puts the rest of the chain under the {@link Watchdog} (AckProgress for long handlers, an
 * interrupt past the handler timeout) and turns a timed-out run into a {@link TimeoutException},
 * retried like any failure. Always present: any handler may outlive a third of the ack wait.
 */
final class TimeoutStep implements Step {
  private final Watchdog watchdog;
  private final Duration timeout;

  TimeoutStep(Watchdog watchdog, Duration timeout) {
    this.watchdog = watchdog;
    this.timeout = timeout;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    Watchdog.Running r = watchdog.watch(d.msg::inProgress, Thread.currentThread());
    Exception failure = null;
    try {
      next.proceed(d);
    } catch (Exception e) {
      failure = e;
    } finally {
      watchdog.done(r);
      Thread.interrupted(); // clear a watchdog interrupt that came as the handler returned
    }
    if (r.timedOut()) {
      throw new TimeoutException(
          failure == null
              ? "handler ran past " + timeout
              : "handler timed out after " + timeout + " (" + failure + ")");
    }
    if (failure != null) {
      throw failure;
    }
  }
}
