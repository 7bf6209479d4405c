package dev.sluice;

/**
 * The bounds no capacity advert can exceed on a queue (protocol §5.1 [v1.1]), and how many live
 * adverts exceeded them when the queue was read. An advert above {@code maxWorkerCapacity} counts
 * for {@code maxWorkerCapacity}; the live adverts together count for at most {@code maxWindow}.
 * Immutable and thread-safe.
 *
 * @param maxWorkerCapacity the most capacity (and owed credits) one advert counts for
 * @param maxWindow the most the live adverts together count for (the standing buffer aside)
 * @param clampedAdverts live adverts whose capacity or owed credits were above {@code
 *     maxWorkerCapacity}: a misconfigured worker, or a forged advert
 */
public record AdvertBounds(int maxWorkerCapacity, int maxWindow, long clampedAdverts) {}
