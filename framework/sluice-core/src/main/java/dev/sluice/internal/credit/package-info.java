/**
 * The credit protocol: the heart of Sluice, in one place. Each section of {@code
 * protocol/PROTOCOL.md} maps to the class that implements it:
 *
 * <table>
 *   <caption>Protocol sections and their classes</caption>
 *   <tr><th>section</th><th>class</th></tr>
 *   <tr><td>§5.1 the window</td><td>{@link dev.sluice.internal.credit.Window}</td></tr>
 *   <tr><td>§5.2 a worker's capacity (static or latency target)</td><td>{@link
 *       dev.sluice.internal.credit.Capacity}</td></tr>
 *   <tr><td>§5.3 tokens, decomposition</td><td>{@link dev.sluice.internal.credit.Credits},
 *       {@link dev.sluice.internal.credit.TokenMinter}</td></tr>
 *   <tr><td>§5.4 replenishment (confirm, carry, linger)</td>
 *       <td>{@link dev.sluice.internal.credit.Replenisher}, {@link
 *       dev.sluice.internal.credit.Acks}</td></tr>
 *   <tr><td>§5.5 the reconciler and its ledger (bounded reports, clamped adverts; no correction on a
 *       stale view of the adverts [v1.3])</td><td>{@link dev.sluice.internal.credit.Reconciler},
 *       {@link dev.sluice.internal.credit.ReconcilerRules}, {@link
 *       dev.sluice.internal.credit.Ledgers}</td></tr>
 *   <tr><td>§5.5 the burn tolerance: one token per live producer and what the held tokens carry
 *       beyond the reported spent credits while some producer is live [v1.3] (held tokens read
 *       before B and after T, the reports after both)</td><td>{@link dev.sluice.internal.credit.Credits#burnAmount}, read by
 *       {@link dev.sluice.internal.credit.Reconciler}</td></tr>
 *   <tr><td>§5.5 burning by fetching tokens (and the RETURN mint of the rest)</td><td>{@link
 *       dev.sluice.internal.credit.TokenBurner}</td></tr>
 *   <tr><td>§5.5 its own worker read live: owed credits and debt with the token count, while the
 *       worker mints nothing; the backlog read while it sends no finishing ack, after confirming
 *       those sent, with the owed credits at the backlog's answer [v1.3]</td><td>{@link
 *       dev.sluice.internal.credit.Replenisher#consistently}, called by {@link
 *       dev.sluice.internal.credit.Reconciler}; the acks held by the worker's settler through
 *       {@link dev.sluice.internal.credit.Replenisher.Confirmer#confirmedAndHeld}</td></tr>
 *   <tr><td>§5.5 fast burn: a surplus announced as a debt that workers withhold (at most what they
 *       still finish, and a deficit minted behind a debt when nothing is left to finish
 *       [v1.3])</td><td>{@link dev.sluice.internal.credit.Credits#debtPayable}, {@link
 *       dev.sluice.internal.credit.FastBurn} (the reconciler's rules), {@link
 *       dev.sluice.internal.credit.Debt} (a worker's share)</td></tr>
 *   <tr><td>§5.1 the window and its advert bounds</td><td>{@link
 *       dev.sluice.internal.credit.Window}, {@link dev.sluice.internal.credit.QueueConfig}, {@link
 *       dev.sluice.internal.credit.AdvertWarnings} (a clamped advert, an unlimited worker: logged
 *       once)</td></tr>
 *   <tr><td>§6.1 the report's held spent credits: stored publishes only, not those in progress
 *       [v1.3]; §6.3 holding (AckProgress every lease / 3), §6.4 reserve and refund, §6.6 report
 *       then ack a spent token, §6.7 idle return (NAK unspent, report then ack partly spent), §6.8 a
 *       waiting send's deadline</td><td>{@link dev.sluice.internal.credit.TokenWallet}, with
 *       {@link dev.sluice.internal.credit.HeldToken} (a held token without its connection) and
 *       {@link dev.sluice.internal.credit.WalletPort} (report, timeout reason)</td></tr>
 *   <tr><td>§2 standing buffer of a fresh queue</td><td>{@link
 *       dev.sluice.internal.credit.Bootstrap}</td></tr>
 *   <tr><td>§15.3 fairness keys: waiting sends granted in weighted max-min fair order (deficit
 *       round robin), the weight of a key (producer, then queue, then 1)</td><td>{@link
 *       dev.sluice.internal.credit.FairQueue} (pure, used by {@link
 *       dev.sluice.internal.credit.TokenWallet} through {@link dev.sluice.internal.credit.WaitQueue}
 *       once a send has a key), {@link
 *       dev.sluice.internal.credit.FairnessWeights}. Cross-producer fairness comes from the
 *       in-order pulls of §6.2, not from state here: measured, it needs none (docs/CONTROL.md).
 *       </td></tr>
 *   <tr><td>§15.2 rate limits: shares, the capped window, the pacing allowance</td><td>{@link
 *       dev.sluice.internal.credit.Rates} (pure rules), {@link
 *       dev.sluice.internal.credit.RateGate} (a worker's bucket, consulted by {@link
 *       dev.sluice.internal.credit.Replenisher})</td></tr>
 * </table>
 *
 * <p><b>Rate limits (§15.2).</b> Every worker paces its own replenishment at its capacity share of
 * the queue's rate, from a bucket 20 ms of its share deep; what a round may not mint stays owed,
 * which the reconciler counts in {@code O} like any owed credit; and the window is capped at the
 * burst less a pacing allowance, so unspent credits plus what buckets may release at once never
 * exceed the burst. Rejected: one lease holder minting for the whole fleet (every credit would
 * cross one process, whose death stops the queue, and owed credits would be minted by a process
 * that did not confirm their acks), and buckets without the window cap (an idle queue would hold
 * its whole window in unspent tokens and send it on top of the rate).
 */
package dev.sluice.internal.credit;
