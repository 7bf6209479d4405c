package dev.sluice;

import dev.sluice.internal.credit.QueueConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One reading of everything the server knows about a queue: the terms of the credit protocol
 * (PROTOCOL.md §5: window W, backlog B, tokens T, held S, owed O), the workers' adverts, the
 * producers' reports, the reconciler's lease and last audit, the dead-letter count and the work
 * stream's hard limit. Obtained from {@link Sluice#inspect(String)}.
 *
 * <p>The reading is not atomic: its parts are read one after the other within a few milliseconds,
 * so on a busy queue the sums need not balance exactly (the reconciler's own audit has the same
 * property and waits for two agreeing audits before it acts). Immutable and thread-safe.
 *
 * @param queue the queue's name
 * @param inspectedAt the time liveness of adverts and reports was judged against
 * @param backlog B: messages stored in the work stream (not yet acked or terminated, in flight
 *     included)
 * @param hardLimit the work stream's {@code max_msgs} (its hard wall), or -1 when unlimited
 * @param firstSequence the work stream's first stored sequence
 * @param oldestStoredAt when the oldest stored message was stored; empty when the backlog is 0
 * @param workerConsumer the state of the {@code workers} consumer, empty when it does not exist
 * @param standingBuffer the queue's standing buffer (credits with no worker alive)
 * @param tokenBatch the token batch in the queue's settings; empty when the queue has no settings
 *     (workers then mint with the default of 32)
 * @param tokens T: credits stored in the credit stream, tokens held by producers included
 * @param window W: {@code max(standing buffer, Σ capacity of live running workers)}, within the
 *     {@code bounds}
 * @param workers every advert found, live and stale, ordered by worker id
 * @param producers every producer report found, live and stale, ordered by producer id
 * @param reconciler the reconciler's lease, empty when no worker has audited the queue
 * @param deadLetters dead-letter records stored for the queue; empty when the dead-letter stream
 *     does not exist
 * @param bounds the queue's advert bounds and how many live adverts they clamped; {@code window} is
 *     already clamped
 */
public record QueueInspection(
    String queue,
    Instant inspectedAt,
    long backlog,
    long hardLimit,
    long firstSequence,
    Optional<Instant> oldestStoredAt,
    Optional<ConsumerStatus> workerConsumer,
    int standingBuffer,
    OptionalInt tokenBatch,
    long tokens,
    long window,
    List<WorkerAdvert> workers,
    List<ProducerReport> producers,
    Optional<ReconcilerLease> reconciler,
    OptionalLong deadLetters,
    AdvertBounds bounds,
    Optional<RateLimit> rateLimit) {

  /** Copies the lists; rejects nulls. */
  public QueueInspection {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(inspectedAt, "inspectedAt");
    Objects.requireNonNull(oldestStoredAt, "oldestStoredAt");
    Objects.requireNonNull(workerConsumer, "workerConsumer");
    Objects.requireNonNull(tokenBatch, "tokenBatch");
    workers = List.copyOf(workers);
    producers = List.copyOf(producers);
    Objects.requireNonNull(reconciler, "reconciler");
    Objects.requireNonNull(deadLetters, "deadLetters");
    Objects.requireNonNull(bounds, "bounds");
    Objects.requireNonNull(rateLimit, "rateLimit");
  }

  /** An inspection of a queue without a rate limit. */
  public QueueInspection(
      String queue,
      Instant inspectedAt,
      long backlog,
      long hardLimit,
      long firstSequence,
      Optional<Instant> oldestStoredAt,
      Optional<ConsumerStatus> workerConsumer,
      int standingBuffer,
      OptionalInt tokenBatch,
      long tokens,
      long window,
      List<WorkerAdvert> workers,
      List<ProducerReport> producers,
      Optional<ReconcilerLease> reconciler,
      OptionalLong deadLetters,
      AdvertBounds bounds) {
    this(
        queue,
        inspectedAt,
        backlog,
        hardLimit,
        firstSequence,
        oldestStoredAt,
        workerConsumer,
        standingBuffer,
        tokenBatch,
        tokens,
        window,
        workers,
        producers,
        reconciler,
        deadLetters,
        bounds,
        Optional.empty());
  }

  /**
   * The token batch workers mint with: the one in the queue's settings, or the default (32) when
   * the settings give none.
   */
  public int effectiveTokenBatch() {
    int b = tokenBatch.orElse(0);
    return b > 0 ? b : QueueConfig.DEFAULT_TOKEN_BATCH;
  }

  /** The adverts that were live at {@link #inspectedAt()}. */
  public List<WorkerAdvert> liveWorkers() {
    return workers.stream().filter(WorkerAdvert::live).toList();
  }

  /** The producer reports that were live at {@link #inspectedAt()}. */
  public List<ProducerReport> liveProducers() {
    return producers.stream().filter(ProducerReport::live).toList();
  }

  /** Live workers in the given state. */
  public long liveWorkersIn(WorkerAdvert.State state) {
    return liveWorkers().stream().filter(w -> w.state() == state).count();
  }

  /** Messages per second the live workers finish together. */
  public double serviceRate() {
    return liveWorkers().stream().mapToDouble(WorkerAdvert::serviceRate).sum();
  }

  /** O: credits the live workers owe and have not minted yet. */
  public long owed() {
    return liveWorkers().stream().mapToLong(WorkerAdvert::owedCredits).sum();
  }

  /** S: credits live producers hold and have spent. */
  public long heldSpent() {
    return liveProducers().stream().mapToLong(ProducerReport::heldSpent).sum();
  }

  /** Credits live producers hold and may still spend. */
  public long heldUnspent() {
    return liveProducers().stream().mapToLong(ProducerReport::heldUnspent).sum();
  }

  /** Sends of live producers waiting for a credit. */
  public long waiting() {
    return liveProducers().stream().mapToLong(ProducerReport::waiting).sum();
  }

  /** Credits a producer could take now: stored tokens less what producers hold (at least 0). */
  public long creditsAvailable() {
    return Math.max(0, tokens - heldSpent() - heldUnspent());
  }

  /**
   * Credits the live workers still withhold from their next mints to burn a surplus the reconciler
   * announced as a debt (§5.5, fast burn): already out of circulation, though their tokens may
   * still be stored or held.
   */
  public long debt() {
    return liveWorkers().stream().mapToLong(WorkerAdvert::debt).sum();
  }

  /**
   * Credits in circulation, {@code B + T − S + O − debt}; the reconciler keeps it equal to W. The
   * debt is subtracted because the workers burn it as they finish messages: a surplus announced as
   * a debt is already decided, and would otherwise read as a surplus for as long as no message
   * flows.
   */
  public long circulating() {
    return backlog + tokens - heldSpent() + owed() - debt();
  }

  /**
   * {@code W − (B + T − S + O − debt)} (§5.5): positive is a deficit, negative a surplus that the
   * reconciler has not yet announced as a debt.
   */
  public long deficit() {
    return window - circulating();
  }

  /** How long the oldest stored message has waited, empty when the backlog is 0. */
  public Optional<Duration> oldestAge() {
    return oldestStoredAt.map(t -> nonNegative(Duration.between(t, inspectedAt)));
  }

  /** How long ago the worker consumer's ack floor last moved; empty if unknown or never. */
  public Optional<Duration> lastAckAge() {
    return workerConsumer
        .flatMap(ConsumerStatus::lastAckAt)
        .map(t -> nonNegative(Duration.between(t, inspectedAt)));
  }

  /** How long ago the worker consumer last delivered a message; empty if unknown or never. */
  public Optional<Duration> lastDeliveryAge() {
    return workerConsumer
        .flatMap(ConsumerStatus::lastDeliveredAt)
        .map(t -> nonNegative(Duration.between(t, inspectedAt)));
  }

  /** Whether the work stream holds as many messages as its hard limit allows. */
  public boolean atHardLimit() {
    return hardLimit > 0 && backlog >= hardLimit;
  }

  private static Duration nonNegative(Duration d) {
    return d.isNegative() ? Duration.ZERO : d;
  }
}
