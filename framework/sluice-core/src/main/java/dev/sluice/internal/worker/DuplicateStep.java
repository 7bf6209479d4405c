package dev.sluice.internal.worker;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.IdKeys;
import dev.sluice.spi.IdempotencyStore;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
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
 * retried with back-off while the message is kept (AckProgress, so the server does not redeliver it
 * meanwhile) for at most {@link #recordBound}: the handler timeout, and never less than three ack
 * waits. Only when that bound runs out is the message acked anyway, with a WARN naming the id: that
 * is the one window in which a duplicate effect remains possible, when both the store and the ack
 * stay unreachable for longer than the bound. Holding longer would keep a handler thread and a
 * credit without limit while the store is down.
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
  private final Duration recordBound;
  private final long progressEveryNanos;
  private final Duration firstRetry;
  private final Duration maxRetry;

  DuplicateStep(
      String queue,
      String workerId,
      IdempotencyStore store,
      Settler settler,
      Duration ackWait,
      Duration handlerTimeout) {
    this.queue = queue;
    this.workerId = workerId;
    this.store = store;
    this.settler = settler;
    this.recordBound = recordBound(ackWait, handlerTimeout);
    this.progressEveryNanos = ackWait.toNanos() / 3;
    // Progress goes out only between tries, so no pause between tries may reach the ack wait:
    // two gaps of at most a third of it each keep the message.
    this.maxRetry = max(MIN_RETRY, min(MAX_RETRY, ackWait.dividedBy(3)));
    this.firstRetry = min(FIRST_RETRY, maxRetry.dividedBy(2));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /** How long a failing record is retried before the message is acked anyway. */
  static Duration recordBound(Duration ackWait, Duration handlerTimeout) {
    return max(handlerTimeout, ackWait.multipliedBy(3));
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
      settler.settle(d, new Classifier.Nak(STORE_DOWN_DELAY, "idempotency store: " + e));
      return;
    }
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

  /** Records {@code key}, retrying while the message is kept; returns when it may be acked. */
  private void record(Delivery d, String key) {
    try {
      d.lateDuplicate = !store.markProcessed(key, workerId);
      return;
    } catch (RuntimeException e) {
      LOG.warn(
          "could not record {} as processed ({}); keeping it and retrying for up to {} before"
              + " acking",
          d.msgId(),
          e.toString(),
          recordBound);
    }
    // Only a record that failed builds a retry policy: nothing extra per message on the hot path.
    AtomicLong lastProgress = new AtomicLong(System.nanoTime());
    keep(d, lastProgress, true);
    RetryPolicy<Boolean> retry =
        RetryPolicy.<Boolean>builder()
            .handle(RuntimeException.class)
            .withBackoff(firstRetry, maxRetry)
            .withMaxRetries(-1)
            .withMaxDuration(recordBound)
            .onFailedAttempt(e -> keep(d, lastProgress, false))
            .build();
    try {
      // After a failed try, "already recorded" may be this worker's own earlier write whose
      // answer was lost: not evidence of another completion, so the result is not looked at.
      Failsafe.with(retry).get(() -> store.markProcessed(key, workerId));
    } catch (RuntimeException e) { // the store's last failure, or a FailsafeException
      failedForGood(d, e);
    }
  }

  private void failedForGood(Delivery d, RuntimeException e) {
    if (e instanceof FailsafeException && e.getCause() instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    LOG.warn(
        "could not record {} as processed within {} ({}); acking it anyway: if this ack is lost"
            + " too, a redelivery may run its handler again",
        d.msgId(),
        recordBound,
        e.toString());
  }

  /** AckProgress while the record is retried, so the server keeps the message with this worker. */
  private void keep(Delivery d, AtomicLong lastProgress, boolean now) {
    long t = System.nanoTime();
    if (!now && t - lastProgress.get() < progressEveryNanos) {
      return;
    }
    lastProgress.set(t);
    try {
      d.msg.inProgress();
    } catch (RuntimeException e) {
      LOG.debug("progress for {} failed: {}", d.msgId(), e.toString());
    }
  }
}
