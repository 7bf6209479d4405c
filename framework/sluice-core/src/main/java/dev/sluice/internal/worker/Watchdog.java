package dev.sluice.internal.worker;

import dev.sluice.internal.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Watches running handlers in one periodic sweep instead of two timers per message: sends
 * AckProgress every {@code ackWait / 3} for a handler still running, and interrupts a handler past
 * its timeout. Thread-safe: handler threads register and finish, the timer thread sweeps.
 */
final class Watchdog {
  private final Clock clock;
  private final long progressEveryNanos;
  private final long timeoutNanos;
  private final Set<Running> running = ConcurrentHashMap.newKeySet();

  Watchdog(Clock clock, Duration ackWait, Duration handlerTimeout) {
    this.clock = clock;
    this.progressEveryNanos = ackWait.toNanos() / 3;
    this.timeoutNanos = handlerTimeout.toNanos();
  }

  /** How often the sweep should run to keep its promises: ack wait / 6, within [10, 100] ms. */
  static Duration sweepInterval(Duration ackWait) {
    return Duration.ofMillis(Math.max(10, Math.min(100, ackWait.toMillis() / 6)));
  }

  /** One handler at work on {@code thread}; {@code progress} extends its ack deadline. */
  static final class Running {
    private final Runnable progress;
    private final Thread thread;
    private final long start;
    private long lastProgress;
    private boolean done;
    private volatile boolean timedOut;

    private Running(Runnable progress, Thread thread, long start) {
      this.progress = progress;
      this.thread = thread;
      this.start = start;
      this.lastProgress = start;
    }

    /** True once the watchdog interrupted this handler for running past its timeout. */
    boolean timedOut() {
      return timedOut;
    }
  }

  /** Starts watching a handler that runs on {@code thread}. */
  Running watch(Runnable progress, Thread thread) {
    Running r = new Running(progress, thread, clock.nanos());
    running.add(r);
    return r;
  }

  /** Stops watching {@code r}; after this returns, the watchdog will not interrupt it. */
  void done(Running r) {
    synchronized (r) {
      r.done = true;
    }
    running.remove(r);
  }

  /** One sweep over the running handlers. */
  void sweep() {
    long now = clock.nanos();
    for (Running r : running) {
      synchronized (r) {
        if (r.done) {
          continue;
        }
        if (now - r.lastProgress >= progressEveryNanos) {
          r.lastProgress = now;
          r.progress.run();
        }
        if (!r.timedOut && now - r.start >= timeoutNanos) {
          r.timedOut = true;
          r.thread.interrupt();
        }
      }
    }
  }

  /** Handlers being watched now. */
  int size() {
    return running.size();
  }
}
