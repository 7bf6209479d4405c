package dev.sluice.internal.credit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * The sends of one producer waiting for a credit: one FIFO queue, exactly as before fairness keys
 * existed, until the first send with a key (§15.3) switches it to a {@link FairQueue}, which serves
 * keys in weighted max-min fair order; the sends already waiting join it in the lane of the empty
 * key. Not thread-safe: {@link TokenWallet} uses it under its lock.
 *
 * @param <W> a waiting send
 */
final class WaitQueue<W> {
  /**
   * Keys kept with nothing waiting before idle ones are forgotten (bounds a many-tenant producer).
   */
  private static final int MAX_IDLE_KEYS = 1024;

  private final ArrayDeque<W> fifo = new ArrayDeque<>();
  private final ToIntFunction<String> weights;
  private FairQueue<W> fair; // null until a send with a fairness key comes

  WaitQueue(ToIntFunction<String> weights) {
    this.weights = weights;
  }

  /** Notes a send of {@code key} (null: none) before it is granted at once or queued. */
  void arriving(String key) {
    if (key != null && fair == null) {
      fair = new FairQueue<>(weights);
      fifo.forEach(old -> fair.add(FairQueue.NO_KEY, old));
      fifo.clear();
    }
  }

  /** Counts a credit granted at once to a send of {@code key}, which never waited. */
  void grantedAtOnce(String key) {
    if (fair != null) {
      fair.granted(key == null ? FairQueue.NO_KEY : key);
    }
  }

  void add(String key, W w) {
    if (fair != null) {
      fair.add(key == null ? FairQueue.NO_KEY : key, w);
    } else {
      fifo.add(w);
    }
  }

  /** The next send to grant a credit to, or null. */
  W poll() {
    return fair != null ? fair.poll() : fifo.poll();
  }

  int size() {
    return fair != null ? fair.size() : fifo.size();
  }

  /** Removes and returns the sends {@code drop} accepts; forgets idle keys past the bound. */
  List<W> removeIf(Predicate<W> drop) {
    if (fair != null) {
      List<W> out = fair.removeIf(drop);
      if (fair.keys() > MAX_IDLE_KEYS) {
        fair.forgetIdle();
      }
      return out;
    }
    List<W> out = new ArrayList<>();
    for (Iterator<W> it = fifo.iterator(); it.hasNext(); ) {
      W w = it.next();
      if (drop.test(w)) {
        it.remove();
        out.add(w);
      }
    }
    return out;
  }

  /** Removes and returns every waiting send. */
  List<W> clear() {
    return removeIf(w -> true);
  }

  /** The busiest fairness keys (at most {@code limit}); empty while no send has had a key. */
  List<FairQueue.KeyState> keys(int limit) {
    return fair == null ? List.of() : fair.top(limit);
  }
}
