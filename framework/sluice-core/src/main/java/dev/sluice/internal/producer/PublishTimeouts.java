package dev.sluice.internal.producer;

import dev.sluice.internal.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;

/**
 * Times out publishes that got no PubAck within the publish timeout, with one periodic {@link
 * #sweep} instead of a scheduled task per publish. Every publish has the same timeout, so entries
 * join the queue in deadline order (two racing threads may swap by microseconds) and a sweep only
 * looks at its head: it drops publishes that completed and fails those past their deadline with a
 * {@link TimeoutException}, stopping at the first one still in time. Per publish this costs one
 * queue node, where {@code orTimeout} inserted and cancelled a task in the shared scheduler's heap
 * (and left it there until it expired).
 *
 * <p>A timeout fires between its deadline and one sweep period later. Thread-safe: any thread may
 * {@link #track}; {@link #sweep} runs on one thread at a time (the producer's timer).
 */
final class PublishTimeouts {
  private final Clock clock;
  private final long timeoutNanos;
  private final Duration timeout;
  private final ConcurrentLinkedQueue<Entry> pending = new ConcurrentLinkedQueue<>();

  private record Entry(long deadline, CompletableFuture<?> future) {}

  PublishTimeouts(Clock clock, Duration timeout) {
    this.clock = clock;
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
  }

  /**
   * How often to sweep: a twentieth of the timeout, between 10 ms and 250 ms (a 5 s timeout fires
   * at most 250 ms late; a sweep of an idle producer costs one queue read).
   */
  Duration period() {
    long ms = timeout.toMillis() / 20;
    return Duration.ofMillis(Math.max(10, Math.min(250, ms)));
  }

  /** Returns {@code f}, which the next sweep after the timeout fails unless it completed. */
  <T> CompletableFuture<T> track(CompletableFuture<T> f) {
    if (!f.isDone()) {
      pending.add(new Entry(clock.nanos() + timeoutNanos, f));
    }
    return f;
  }

  /**
   * Fails the publishes past their deadline and forgets completed ones; returns how many failed.
   */
  int sweep() {
    long now = clock.nanos();
    int failed = 0;
    for (Entry e = pending.peek(); e != null; e = pending.peek()) {
      if (!e.future.isDone() && e.deadline - now > 0) {
        break;
      }
      pending.poll();
      if (!e.future.isDone()
          && e.future.completeExceptionally(
              new TimeoutException("no PubAck within " + timeout.toMillis() + " ms"))) {
        failed++;
      }
    }
    return failed;
  }

  /** Publishes tracked and not yet swept away (completed ones linger until the next sweep). */
  int tracked() {
    return pending.size();
  }
}
