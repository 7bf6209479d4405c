package dev.sluice.spi;

import io.nats.client.Connection;
import java.time.Duration;
import java.util.Objects;

/**
 * Remembers which messages were processed, so a redelivery runs no handler twice (protocol §9).
 * Keys are id-keys scoped by queue ({@code <queue>.<id-key>}). Implementations are thread-safe.
 */
public interface IdempotencyStore {
  /**
   * The KV bucket of the shared store ({@link #jetStreamKv}); keys are {@code <queue>.<id-key>}.
   */
  String SHARED_BUCKET = "sluice-processed";

  /** True when {@code key} was recorded as processed within the window. */
  boolean isProcessed(String key);

  /**
   * Records {@code key} as processed. Returns false when it was already recorded (a late or
   * concurrent completion of the same message).
   *
   * <p>The worker calls this after a successful handler and before the ack. When it throws (the
   * store is unreachable), the worker holds the message (unacked, with AckProgress) and calls it
   * again with back-off, at most a second apart, until it returns: by default without a bound (fail
   * closed, the worker's health is FAILING meanwhile), or until {@code
   * Worker.Builder.ackUnrecordedAfter} runs out, when it acks anyway and logs the id at WARN. An
   * implementation should therefore be idempotent for the same key and worker, and should fail
   * within a few seconds rather than block: each call holds a handler thread.
   *
   * @throws RuntimeException when the store cannot be reached; the worker retries as above
   */
  boolean markProcessed(String key, String workerId);

  /**
   * The local store: remembers the last {@code maximumSize} processed keys, each for at most {@code
   * window}, and protects against redeliveries to this process. The oldest key is forgotten first.
   * It takes about 32 to 40 bytes per key ({@code maximumSize} of them) from the start and no
   * object per key, so the keys it holds cost the garbage collector nothing (a key is kept as 128
   * bits of its SHA-256).
   *
   * @throws IllegalArgumentException {@code maximumSize} is not in 1 to 2<sup>28</sup>
   */
  static IdempotencyStore local(long maximumSize, Duration window) {
    Objects.requireNonNull(window, "window");
    return new RecentIdsStore(maximumSize, window);
  }

  /**
   * The local store, {@link #local}: its former name, from when Caffeine held the keys.
   *
   * @deprecated use {@link #local}; the store no longer uses Caffeine
   */
  @Deprecated
  static IdempotencyStore caffeine(long maximumSize, Duration window) {
    return local(maximumSize, window);
  }

  /**
   * The shared store: KV bucket {@code sluice-processed}, checked after a local cache. Protects a
   * whole fleet, including against a worker killed after its effect and before its ack.
   */
  static IdempotencyStore jetStreamKv(Connection connection, long localCacheSize, Duration window) {
    return new KvIdempotencyStore(connection, local(localCacheSize, window));
  }
}
