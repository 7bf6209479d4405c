package dev.sluice.spi;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The local idempotency store ({@link IdempotencyStore#caffeine}): the last {@code maximumSize}
 * processed keys, each for at most the window. Thread-safe.
 *
 * <p>A Caffeine cache expiring after write holds the keys; a ring of the last {@code maximumSize}
 * keys bounds it: recording a key overwrites the ring's oldest slot and removes the key that slot
 * held (unless it was recorded again since). So a key stays remembered until {@code maximumSize}
 * more keys were recorded or the window passed, whichever comes first: first in, first out, which
 * is the order in which a redelivery becomes less likely. A record overtaken by {@code maximumSize}
 * later ones between taking its turn and writing its slot (its thread was paused there) finds its
 * slot taken by a later turn and forgets its own key at once: it is not among the last ones.
 *
 * <p>Rejected: Caffeine's own size bound ({@code maximumSize}). Its W-TinyLFU policy admits a new
 * key into the main space only when the key was seen more often than the entry it would replace,
 * and every id here is recorded once: at the bound, most new keys were evicted again within about a
 * thousand inserts while keys of the first 100,000 stayed for the window (measured with Caffeine
 * 3.2.4), so a redelivery after a few thousand other messages usually ran its handler again. It
 * also evicted on every insert through its frequency sketch, window and probation queues, which was
 * a third of the worker's handler threads' time with no-op handlers (docs/BENCHMARKS.md, "The Java
 * hot path"). Expiry after write alone keeps one queue in write order, so removing the oldest key
 * is cheap.
 */
final class RecentIdsStore implements IdempotencyStore {
  /** A key's record: its turn in the ring ({@code key} null for a duplicate's turn). */
  private record Turn(String key, long seq) {}

  private final ConcurrentMap<String, Turn> recorded;
  private final AtomicReferenceArray<Turn> ring;
  private final AtomicLong sequence = new AtomicLong();

  /**
   * @param maximumSize how many keys are remembered at most, 1 to {@code Integer.MAX_VALUE - 8};
   *     the ring takes a reference per key (4 or 8 bytes) from the start
   * @param window how long a key is remembered at most
   */
  RecentIdsStore(long maximumSize, Duration window) {
    if (maximumSize < 1 || maximumSize > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "maximumSize " + maximumSize + " not in 1.." + (Integer.MAX_VALUE - 8));
    }
    // Maintenance (expiry) runs on the calling thread, amortized over reads and writes: the
    // default hands it to the common pool, a thread wake-up every few writes on the hot path.
    Cache<String, Turn> cache =
        Caffeine.newBuilder()
            .initialCapacity((int) Math.min(maximumSize, 1 << 16))
            .expireAfterWrite(window)
            .executor(Runnable::run)
            .build();
    this.recorded = cache.asMap();
    this.ring = new AtomicReferenceArray<>((int) maximumSize);
  }

  @Override
  public boolean isProcessed(String key) {
    return recorded.get(key) != null;
  }

  @Override
  public boolean markProcessed(String key, String workerId) {
    long seq = sequence.getAndIncrement();
    Turn mine = new Turn(key, seq);
    boolean added = recorded.putIfAbsent(key, mine) == null;
    Turn taking = added ? mine : new Turn(null, seq); // a duplicate takes its turn too
    int slot = (int) (seq % ring.length());
    while (true) {
      Turn before = ring.get(slot);
      if (before != null && before.seq() > seq) {
        forget(taking); // overtaken: a later turn holds the slot, this key is the older one
        return added;
      }
      if (ring.compareAndSet(slot, before, taking)) {
        forget(before);
        return added;
      }
    }
  }

  /** Removes the key of {@code turn}, unless it expired and was recorded again since. */
  private void forget(Turn turn) {
    if (turn != null && turn.key() != null) {
      recorded.remove(turn.key(), turn);
    }
  }

  @Override
  public String toString() {
    return "IdempotencyStore.caffeine(" + ring.length() + ")";
  }
}
