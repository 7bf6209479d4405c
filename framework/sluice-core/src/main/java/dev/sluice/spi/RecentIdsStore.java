package dev.sluice.spi;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;

/**
 * The local idempotency store ({@link IdempotencyStore#local}): the last {@code maximumSize}
 * processed keys, each for at most the window, in primitive arrays allocated once. Thread-safe.
 *
 * <p>A key is kept as the first 128 bits of its SHA-256 (two {@code long}s) and the instant it was
 * recorded, in a ring of {@code maximumSize} turns; an open-addressing table of {@code int}s finds
 * a key's turn. Recording a key takes the ring's next turn and forgets the key that turn held, so a
 * key stays remembered until {@code maximumSize} more records were made or the window passed,
 * whichever comes first: first in, first out, the order in which a redelivery becomes less likely.
 * A record of a key already remembered is a duplicate: it takes a turn too (a, a again, b, c in a
 * store of 3 forgets a at c). Memory: 24 bytes per key of the ring and 8 to 16 of the table, from
 * the start; no object per key.
 *
 * <p>Why no object per key: a worker records every message it finishes, and each key lives for
 * {@code maximumSize} more messages, so with objects the young collections copy every key recorded
 * since the last one, again and again until it is promoted. With the former Caffeine cache (a
 * String, a node, a map entry and a turn per key; 100,000 keys) G1's young pauses in the
 * slow-workers benchmark had a median of 36 ms and reached 157 ms on the shared 2-core machine,
 * which set the end-to-end p99 (99 ms); with 1,000 keys they were 7 ms and the p99 49 ms
 * (docs/BENCHMARKS.md, "The idempotency store and the latency tail").
 *
 * <p>Why 128 bits of SHA-256 and not the key: two keys with the same 128 bits would make the second
 * message a duplicate (acked without running its handler). For a store of 100,000 keys the chance
 * that a given new key meets one is about 3 × 10<sup>-34</sup>, and SHA-256 lets nobody choose keys
 * that collide. Keeping the keys themselves exactly, with no object each, would need an arena of
 * variable-length byte records; the digest costs about the same time as the former cache did per
 * message. Rejected: Caffeine's own size bound ({@code maximumSize}): its W-TinyLFU policy admits a
 * new key only when it was seen more often than the one it would evict, and every id here is
 * recorded once, so most new keys were evicted again within about a thousand inserts.
 */
final class RecentIdsStore implements IdempotencyStore {
  /** The largest {@code maximumSize}: the ring's three arrays and the table must fit in arrays. */
  static final int MAX_SIZE = 1 << 28;

  private static final long EMPTY = Long.MIN_VALUE;

  private static final ThreadLocal<Digest> DIGEST = ThreadLocal.withInitial(Digest::new);

  private final long windowNanos;
  private final int size;

  // Guarded by this. Turn t: the key's two hash words and when it was recorded (EMPTY: no key).
  private final long[] hi;
  private final long[] lo;
  private final long[] at;
  private final int[] table; // turn + 1, or 0 for a free slot; linear probing
  private final int mask;
  private long turns;

  /**
   * @param maximumSize how many keys are remembered at most, 1 to {@value #MAX_SIZE}
   * @param window how long a key is remembered at most
   */
  RecentIdsStore(long maximumSize, Duration window) {
    if (maximumSize < 1 || maximumSize > MAX_SIZE) {
      throw new IllegalArgumentException("maximumSize " + maximumSize + " not in 1.." + MAX_SIZE);
    }
    this.size = (int) maximumSize;
    this.windowNanos = window.toNanos();
    this.hi = new long[size];
    this.lo = new long[size];
    this.at = new long[size];
    Arrays.fill(at, EMPTY);
    int slots = Integer.highestOneBit(Math.max(4, size) * 2 - 1) << 1; // a power of two ≥ 2 × size
    this.table = new int[slots];
    this.mask = slots - 1;
  }

  @Override
  public boolean isProcessed(String key) {
    Digest d = DIGEST.get().of(key);
    long now = System.nanoTime();
    synchronized (this) {
      int t = find(d.hi, d.lo);
      return t >= 0 && fresh(t, now);
    }
  }

  @Override
  public boolean markProcessed(String key, String workerId) {
    Digest d = DIGEST.get().of(key);
    long now = System.nanoTime();
    synchronized (this) {
      int known = find(d.hi, d.lo);
      boolean added = known < 0 || !fresh(known, now);
      if (known >= 0 && added) {
        forget(known); // expired: recorded anew below
      }
      int t = (int) (turns++ % size);
      if (at[t] != EMPTY) {
        forget(t);
      }
      if (added) {
        hi[t] = d.hi;
        lo[t] = d.lo;
        at[t] = now;
        insert(t);
      }
      return added;
    }
  }

  private boolean fresh(int turn, long now) {
    return now - at[turn] <= windowNanos;
  }

  /** The turn holding the key with these hash words, or -1. */
  private int find(long h, long l) {
    for (int i = (int) h & mask; table[i] != 0; i = (i + 1) & mask) {
      int t = table[i] - 1;
      if (hi[t] == h && lo[t] == l) {
        return t;
      }
    }
    return -1;
  }

  private void insert(int turn) {
    int i = (int) hi[turn] & mask;
    while (table[i] != 0) {
      i = (i + 1) & mask;
    }
    table[i] = turn + 1;
  }

  /** Forgets the key of {@code turn}: empties the turn and its table slot (backward shift). */
  private void forget(int turn) {
    int i = (int) hi[turn] & mask;
    while (table[i] != turn + 1) {
      i = (i + 1) & mask;
    }
    at[turn] = EMPTY;
    // Close the gap: move up each later entry of the run whose home is not after the gap.
    int gap = i;
    for (int j = (gap + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
      int home = (int) hi[table[j] - 1] & mask;
      if (((j - home) & mask) >= ((j - gap) & mask)) {
        table[gap] = table[j];
        gap = j;
      }
    }
    table[gap] = 0;
  }

  @Override
  public String toString() {
    return "IdempotencyStore.local(" + size + ")";
  }

  /** A thread's SHA-256 and the last key it digested (a worker asks twice about each key). */
  private static final class Digest {
    private final MessageDigest sha;
    private String key;
    long hi;
    long lo;

    Digest() {
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is required by every Java platform", e);
      }
    }

    Digest of(String k) {
      if (!k.equals(key)) {
        byte[] d = sha.digest(k.getBytes(StandardCharsets.UTF_8));
        hi = word(d, 0);
        lo = word(d, 8);
        key = k;
      }
      return this;
    }

    private static long word(byte[] b, int from) {
      long v = 0;
      for (int i = from; i < from + 8; i++) {
        v = (v << 8) | (b[i] & 0xFF);
      }
      return v;
    }
  }
}
