package dev.sluice.internal.worker;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.IdKeys;
import dev.sluice.spi.IdempotencyStore;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step 3, present only with an idempotency store: acks an already-processed message without running
 * the handler, and records the message as processed once the rest of the chain succeeded, before
 * the message is acked (a later completion of the same message counts as a duplicate).
 *
 * <p>Recording comes before the ack because the ack can be lost as easily as the record (a paused
 * or partitioned leader answers neither): a message acked but not recorded is redelivered to a
 * worker that cannot tell it was done, and the handler runs twice. So a record that fails is
 * retried with back-off (at most a second apart, so the record lands about as soon as the store
 * answers again) while the message is <em>held</em>: unacked, with progress sent on the worker's
 * timer every third of the ack wait whatever the store's calls take, so the server redelivers it to
 * no one. By default the hold has no bound (fail closed): while any message is held, or a read of
 * the store fails, the worker reports FAILING with the store's error. With {@code
 * ackUnrecordedAfter} set the message is acked anyway after that bound, with a WARN naming the id:
 * the one window in which a duplicate effect remains possible, when the ack is lost as well. A
 * worker that stops while holding acks too: the NAK the shutdown would send instead makes the
 * handler run again for certain, an ack only if it is lost.
 *
 * <p>Rejected: acking at once after a failed record (the fault suite saw the ack lost with the
 * record, and the redelivery ran the handler again), NAKing (the redelivery runs it again for
 * certain), and a fixed bound by default (a store outage longer than the bound, as after a
 * partition healed, produced exactly that duplicate).
 */
final class DuplicateStep implements Step {
  private static final Logger LOG = LoggerFactory.getLogger(DuplicateStep.class);
  private static final Duration STORE_DOWN_DELAY = Duration.ofSeconds(1);
  private static final Duration FIRST_RETRY = Duration.ofMillis(50);
  private static final Duration MAX_RETRY = Duration.ofSeconds(1);
  private static final Duration MIN_RETRY = Duration.ofMillis(10);

  private final String queue;
  private final String workerId;
  private final IdempotencyStore store;
  private final Settler settler;
  private final WorkerHealth health;
  private final ScheduledExecutorService timer;
  private final Duration ackUnrecordedAfter;
  private final long progressEveryMillis;
  private final Duration firstRetry;
  private final Duration maxRetry;
  private final AtomicInteger held = new AtomicInteger();

  /**
   * @param timer sends the progress of held messages
   * @param ackUnrecordedAfter how long a message is held before it is acked unrecorded; null: until
   *     it is recorded
   */
  DuplicateStep(
      String queue,
      String workerId,
      IdempotencyStore store,
      Settler settler,
      WorkerHealth health,
      ScheduledExecutorService timer,
      Duration ackWait,
      Duration ackUnrecordedAfter) {
    this.queue = queue;
    this.workerId = workerId;
    this.store = store;
    this.settler = settler;
    this.health = health;
    this.timer = timer;
    this.ackUnrecordedAfter = ackUnrecordedAfter;
    this.progressEveryMillis = Math.max(1, ackWait.toMillis() / 3);
    this.maxRetry = max(MIN_RETRY, min(MAX_RETRY, ackWait.dividedBy(3)));
    this.firstRetry = min(FIRST_RETRY, maxRetry.dividedBy(2));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /** Messages finished and waiting for their record now. */
  int held() {
    return held.get();
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    String key = IdKeys.storeKey(queue, d.hc.msgId());
    boolean processedBefore;
    try {
      processedBefore = store.isProcessed(key);
    } catch (RuntimeException e) {
      // The shared store is unreachable: retry later rather than risk running twice.
      LOG.warn("idempotency store: {}; retrying {} later", e.toString(), d.msgId());
      failing(e);
      settler.settle(d, new Classifier.Nak(STORE_DOWN_DELAY, "idempotency store: " + e));
      return;
    }
    answered();
    if (processedBefore) {
      settler.settle(d, new Classifier.AckDuplicate());
      return;
    }
    next.proceed(d);
    if (d.settled) {
      return;
    }
    record(d, key);
  }

  /** Records {@code key}, holding the message while that fails; returns when it may be acked. */
  private void record(Delivery d, String key) {
    try {
      d.lateDuplicate = !store.markProcessed(key, workerId);
      return;
    } catch (RuntimeException e) {
      LOG.warn(
          "could not record {} as processed ({}); holding it unacked and retrying{}",
          d.msgId(),
          e.toString(),
          ackUnrecordedAfter == null
              ? " until the store answers"
              : " for up to " + ackUnrecordedAfter);
      held.incrementAndGet();
      failing(e);
    }
    keep(d);
    ScheduledFuture<?> progress;
    try {
      progress =
          timer.scheduleAtFixedRate(
              () -> keep(d), progressEveryMillis, progressEveryMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      progress = null; // the worker has stopped: the retry below gives up at once
    }
    // Only a record that failed builds a retry policy: nothing extra per message on the hot path.
    RetryPolicyBuilder<Boolean> retry =
        RetryPolicy.<Boolean>builder()
            // A worker that stops gives up the hold (see the class comment).
            .handleIf((r, e) -> e instanceof RuntimeException && health.running())
            .withBackoff(firstRetry, maxRetry)
            .withMaxRetries(-1)
            .onFailedAttempt(e -> failing(e.getLastException()));
    if (ackUnrecordedAfter != null) {
      retry.withMaxDuration(ackUnrecordedAfter);
    }
    RuntimeException failure = null;
    try {
      // After a failed try, "already recorded" may be this worker's own earlier write whose
      // answer was lost: not evidence of another completion, so the result is not looked at.
      boolean created = Failsafe.with(retry.build()).get(() -> store.markProcessed(key, workerId));
      LOG.info(
          "recorded {} as processed after the store answered again ({}); acking it",
          d.msgId(),
          created ? "created" : "found already stored");
    } catch (RuntimeException e) { // the store's last failure, or a FailsafeException
      failure = e;
    } finally {
      if (progress != null) {
        progress.cancel(false);
      }
      held.decrementAndGet();
    }
    if (failure == null) {
      answered();
    } else {
      failing(failure.getCause() != null ? failure.getCause() : failure);
      ackingUnrecorded(d, failure);
    }
  }

  private void ackingUnrecorded(Delivery d, RuntimeException e) {
    if (e instanceof FailsafeException && e.getCause() instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    LOG.warn(
        "acking {} without its processed record ({}; {}): if this ack is lost too, a redelivery"
            + " may run its handler again",
        d.msgId(),
        health.running() ? "held for " + ackUnrecordedAfter : "the worker is stopping",
        e.toString());
  }

  /** The store failed: FAILING with its error and what is held. */
  private void failing(Throwable e) {
    int n = held.get();
    health.storeProblem(
        "idempotency store failing ("
            + e
            + "): "
            + (n > 0
                ? n
                    + " finished messages held unacked until their ids are recorded"
                    + (ackUnrecordedAfter == null ? "" : " (at most " + ackUnrecordedAfter + ")")
                : "messages are retried until it answers")
            + "; check the "
            + IdempotencyStore.SHARED_BUCKET
            + " bucket's stream (its leader and replicas) and this worker's connection");
  }

  /** The store answered: no longer FAILING for it once nothing is held. */
  private void answered() {
    if (held.get() == 0) {
      health.storeProblem("");
    }
  }

  /** AckProgress, so the server keeps the held message with this worker. */
  private void keep(Delivery d) {
    try {
      d.msg.inProgress();
    } catch (RuntimeException e) {
      LOG.debug("progress for {} failed: {}", d.msgId(), e.toString());
    }
  }
}
