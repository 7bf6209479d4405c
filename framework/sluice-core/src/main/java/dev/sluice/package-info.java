/**
 * Sluice: durable work queues on NATS JetStream with credit-based flow control.
 *
 * <p>Start at {@link dev.sluice.Sluice}: it opens producers ({@code QueueProducer}) and workers
 * ({@code Worker}) for a queue and provisions the queue's JetStream topology.
 */
package dev.sluice;
