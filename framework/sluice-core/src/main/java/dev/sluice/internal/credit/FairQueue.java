package dev.sluice.internal.credit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * The sends of one producer waiting for credits, one FIFO lane per fairness key, served in weighted
 * max-min fair order (protocol §15.3): deficit round robin with a quantum of the key's weight and a
 * cost of one credit per send. Only keys with a waiting send take part, so a key that asks for less
 * than its share gets all it asks and the rest is shared among the others in proportion to their
 * weights. Within one key the order is arrival order. Sends without a key wait in the lane of the
 * empty key, whose weight is the default. Pure logic, no time, no locking: {@link TokenWallet}
 * calls it under its lock.
 *
 * @param <W> a waiting send
 */
public final class FairQueue<W> {
  /** The lane of sends without a key. */
  public static final String NO_KEY = "";

  private static final class Lane<W> {
    final String key;
    final ArrayDeque<W> waiting = new ArrayDeque<>();
    final int weight;
    int deficit;
    boolean active;
    long granted;

    Lane(String key, int weight) {
      this.key = key;
      this.weight = weight;
    }
  }

  /** One key's state, as reports and the CLI show it. */
  public record KeyState(String key, int weight, int waiting, long granted) {}

  private final ToIntFunction<String> weights;
  private final Map<String, Lane<W>> lanes = new HashMap<>();
  private final ArrayDeque<Lane<W>> ring = new ArrayDeque<>();
  private int size;

  /**
   * @param weights a key's weight (at least 1), read once when the key's lane is made
   */
  public FairQueue(ToIntFunction<String> weights) {
    this.weights = weights;
  }

  /** Queues {@code w} at the end of {@code key}'s lane ({@link #NO_KEY} for none). */
  public void add(String key, W w) {
    Lane<W> lane = lane(key);
    lane.waiting.add(w);
    size++;
    if (!lane.active) {
      lane.active = true;
      ring.addLast(lane);
    }
  }

  /** Counts a credit granted at once to a send of {@code key}, which never waited. */
  public void granted(String key) {
    lane(key).granted++;
  }

  private Lane<W> lane(String key) {
    return lanes.computeIfAbsent(key, k -> new Lane<>(k, Math.max(1, weights.applyAsInt(k))));
  }

  /**
   * Takes the next send to grant a credit to, or null when none waits. The lane at the head of the
   * round starts its turn with {@code weight} credits added to its deficit and keeps the turn while
   * the deficit covers a send; a lane that empties leaves the round and forgets its deficit.
   */
  public W poll() {
    Lane<W> lane = ring.pollFirst();
    if (lane == null) {
      return null;
    }
    if (lane.deficit < 1) {
      lane.deficit += lane.weight;
    }
    lane.deficit--;
    lane.granted++;
    size--;
    W w = lane.waiting.poll();
    if (lane.waiting.isEmpty()) {
      lane.deficit = 0;
      lane.active = false;
    } else if (lane.deficit >= 1) {
      ring.addFirst(lane);
    } else {
      ring.addLast(lane);
    }
    return w;
  }

  /** Sends waiting in every lane. */
  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** Removes and returns the sends {@code drop} accepts, keeping the order of the rest. */
  public List<W> removeIf(Predicate<W> drop) {
    List<W> out = new ArrayList<>();
    for (Iterator<Lane<W>> it = ring.iterator(); it.hasNext(); ) {
      Lane<W> lane = it.next();
      for (Iterator<W> ws = lane.waiting.iterator(); ws.hasNext(); ) {
        W w = ws.next();
        if (drop.test(w)) {
          ws.remove();
          out.add(w);
          size--;
        }
      }
      if (lane.waiting.isEmpty()) {
        lane.deficit = 0;
        lane.active = false;
        it.remove();
      }
    }
    return out;
  }

  /** Removes and returns every waiting send. */
  public List<W> clear() {
    return removeIf(w -> true);
  }

  /**
   * The {@code limit} keys with the most sends waiting (then the most granted), for reports; keys
   * with nothing waiting and nothing granted since {@link #forgetIdle()} are left out.
   */
  public List<KeyState> top(int limit) {
    return lanes.values().stream()
        .filter(l -> l.active || l.granted > 0)
        .sorted(
            Comparator.comparingInt((Lane<W> l) -> l.waiting.size())
                .thenComparingLong(l -> l.granted)
                .reversed()
                .thenComparing(l -> l.key))
        .limit(limit)
        .map(l -> new KeyState(l.key, l.weight, l.waiting.size(), l.granted))
        .toList();
  }

  /** Number of keys known (with a lane). */
  public int keys() {
    return lanes.size();
  }

  /**
   * Drops the lanes of keys with nothing waiting, so that a producer sending for many keys over
   * time keeps only the ones in use; their grant counts start again from 0.
   */
  public void forgetIdle() {
    lanes.values().removeIf(l -> !l.active);
  }
}
