/**
 * The read side of a queue: reads streams and KV buckets into the public read model ({@code
 * QueueInspection}, {@code WorkerAdvert}, {@code StoredMessage}, {@code DeadLetterRecord}) without
 * consuming anything, and carries out the dead-letter operations (list, replay, purge). Nothing
 * here runs in a producer or a worker.
 */
package dev.sluice.internal.inspect;
