package dev.sluice.internal.worker;

import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.IdKeys;
import dev.sluice.spi.IdempotencyStore;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step 3, present only with an idempotency store: acks an already-processed message without running
 * the handler, and records the message as processed once the rest of the chain succeeded (a later
 * completion of the same message counts as a duplicate).
 */
final class DuplicateStep implements Step {
  private static final Logger LOG = LoggerFactory.getLogger(DuplicateStep.class);
  private static final Duration STORE_DOWN_DELAY = Duration.ofSeconds(1);

  private final String queue;
  private final String workerId;
  private final IdempotencyStore store;
  private final Settler settler;

  DuplicateStep(String queue, String workerId, IdempotencyStore store, Settler settler) {
    this.queue = queue;
    this.workerId = workerId;
    this.store = store;
    this.settler = settler;
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
    try {
      d.lateDuplicate = !store.markProcessed(key, workerId);
    } catch (RuntimeException e) {
      LOG.warn("could not record {} as processed: {}", d.msgId(), e.toString());
    }
  }
}
