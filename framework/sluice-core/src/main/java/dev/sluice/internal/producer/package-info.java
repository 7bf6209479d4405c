/**
 * The producer runtime (protocol §4.3, §6). {@link dev.sluice.internal.producer.ProducerRuntime}
 * wires the parts: {@link dev.sluice.internal.producer.VersionGate} (§4.3), the credit wallet
 * {@link dev.sluice.internal.credit.TokenWallet} (§6.3-§6.8), {@link
 * dev.sluice.internal.producer.CreditPuller} (§6.2), {@link dev.sluice.internal.producer.Publisher}
 * (§6.4, §6.5) and {@link dev.sluice.internal.producer.TimeoutReasons} (§6.8).
 *
 * <p>Threads of one producer:
 *
 * <ul>
 *   <li>The caller's thread checks the version, reads the trace parent, takes a credit if the
 *       wallet has one and no send waits before it, and makes the first publish try. It never
 *       blocks in {@code sendAsync}; {@code send} blocks on the returned future.
 *   <li>{@code sluice-producer-<id>-pull-<n>} ({@code prefetch} threads) each sleep on a condition
 *       until the wallet has sends that held credits do not cover, then send one single-token pull
 *       and hand what arrives to the wallet; a send served that way makes its first publish try on
 *       this thread.
 *   <li>{@code sluice-producer-<id>-timer} (one thread) settles the wallet every report interval
 *       and at once when a token is fully spent (expire waiters, mint back, report, ack, NAK,
 *       AckProgress), re-watches the adverts while none is live, and runs the delayed publish
 *       retries.
 *   <li>jnats' threads complete PubAcks: the credit is released (spent or refunded) there.
 *   <li>{@code close()} runs on the caller's thread: it stops the pullers, fails waiting sends,
 *       waits (on a condition) for publishes in flight, stops the timer and settles once more to
 *       return every token.
 * </ul>
 */
package dev.sluice.internal.producer;
