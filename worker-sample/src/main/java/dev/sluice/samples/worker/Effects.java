package dev.sluice.samples.worker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stands in for the systems an order handler changes: stock, payments, shipping. Each effect is
 * keyed by (message id, step) and applied at most once, the way a real system would use a unique
 * key or an idempotency key on the payment API. A handler that fails half-way and is retried then
 * skips the steps it already did instead of charging the customer twice.
 *
 * <p>It also counts, per message id, how many times the handler ran to completion, so the demo can
 * check that no message was processed twice. Thread-safe; in memory only.
 */
public final class Effects {
  /** The steps of handling an order, in order. */
  public enum Step {
    RESERVE,
    CHARGE,
    SHIP
  }

  private final Map<String, Boolean> applied = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> completions = new ConcurrentHashMap<>();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong duplicateCompletions = new AtomicLong();

  /**
   * Applies {@code step} for {@code messageId} unless it was applied before.
   *
   * @return true if applied now, false if it had been applied by an earlier attempt
   */
  public boolean once(String messageId, Step step) {
    boolean first = applied.putIfAbsent(messageId + "/" + step, Boolean.TRUE) == null;
    if (!first) {
      skipped.incrementAndGet();
    }
    return first;
  }

  /** Records that the handler finished every step for {@code messageId}. */
  public void completed(String messageId) {
    int n = completions.computeIfAbsent(messageId, k -> new AtomicInteger()).incrementAndGet();
    if (n == 2) {
      duplicateCompletions.incrementAndGet(); // the same message processed a second time
    }
  }

  public boolean isCompleted(String messageId) {
    return completions.containsKey(messageId);
  }

  /** Distinct messages processed to completion. */
  public long completedMessages() {
    return completions.size();
  }

  /** Messages whose handler ran to completion more than once. */
  public long duplicateCompletions() {
    return duplicateCompletions.get();
  }

  /** Steps skipped because an earlier attempt had already applied them. */
  public long skippedSteps() {
    return skipped.get();
  }
}
