package dev.sluice.internal.credit;

import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.MintReason;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The per-queue reconciler (protocol §5.5): elected through a compare-and-set lease in the control
 * bucket, it audits {@code d = W − (B + T − S + O)} and mints a deficit or burns a surplus that two
 * audits agree on. Not thread-safe: one scheduler thread calls {@link #tick()}.
 */
public final class Reconciler {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

  private final JetStream js;
  private final JetStreamManagement jsm;
  private final KeyValue control;
  private final String queue;
  private final String holderId;
  private final Duration auditInterval;
  private final KvBoard<CapacityAdvert> adverts;
  private final KvBoard<ProducerReport> reports;
  private final TokenMinter minter;
  private final Clock clock;
  private final Debt debt;
  private final Replenisher replenisher;
  private final TokenBurner burner;
  // Before announcing a debt, take only the tokens lying in the stream now: waiting for tokens
  // that workers mint races the producers again and delays the debt.
  private static final Duration UNHELD_ONLY = Duration.ofMillis(100);
  private volatile boolean leader;
  // Only on the reconciler thread: a confirming audit is running (it does not start another).
  private boolean confirming;
  private volatile Ledger lastLedger;
  // Only on the reconciler thread: the last audit found its view of the adverts stale.
  private boolean viewStale;
  // Only on the reconciler thread: the last audit announced a debt and left part of a surplus that
  // grew while it was read (a flood still being stored at the first reading).
  private boolean surplusLeft;

  private final Overclaims overclaims = new Overclaims();
  private final AdvertWarnings warnings;

  public Reconciler(
      Connection nc,
      String queue,
      String holderId,
      Duration auditInterval,
      KvBoard<CapacityAdvert> adverts,
      KvBoard<ProducerReport> reports,
      TokenMinter minter,
      Clock clock,
      Replenisher replenisher)
      throws IOException {
    this.js = nc.jetStream();
    this.jsm = nc.jetStreamManagement();
    this.control = nc.keyValue(Protocol.CONTROL_BUCKET);
    this.queue = queue;
    this.holderId = holderId;
    this.auditInterval = auditInterval;
    this.adverts = adverts;
    this.reports = reports;
    this.minter = minter;
    this.clock = clock;
    this.replenisher = replenisher;
    this.debt = replenisher.debt();
    this.burner = new TokenBurner(js, queue, minter);
    this.warnings = new AdvertWarnings(queue);
  }

  public boolean isLeader() {
    return leader;
  }

  public Ledger lastLedger() {
    return lastLedger;
  }

  /** One election round and, when this process holds the lease, one audit. */
  public void tick() {
    try {
      long now = clock.millis();
      String key = Protocol.reconcilerKey(queue);
      KeyValueEntry e = control.get(key);
      ReconcilerLease current = null;
      if (e != null && e.getValue() != null && e.getValue().length > 0) {
        current = ReconcilerLease.parseFrom(e.getValue());
      }
      // Every worker reads the lease each round: that is how it learns its share of a debt.
      debt.offer(current == null ? ReconcilerLease.getDefaultInstance() : current);
      long previous = current == null ? 0 : current.getPreviousDeficit();
      ReconcilerLease claim =
          ReconcilerRules.withDebts(
              lease(now, current == null ? null : current.getLast(), previous), current);
      long revision;
      try {
        switch (ReconcilerRules.claim(e != null, current, holderId, now)) {
          case CREATE -> revision = control.create(key, claim.toByteArray());
          case UPDATE -> revision = control.update(key, claim.toByteArray(), e.getRevision());
          default -> {
            leader = false;
            return;
          }
        }
      } catch (JetStreamApiException lost) {
        leader = false; // another worker won this round
        return;
      }
      if (!leader) {
        LOG.info("worker {} is now the reconciler of queue {}", holderId, queue);
      }
      leader = true;
      audit(key, revision, previous, current);
      if ((ReconcilerRules.firstSurplusReading(previous, lastLedger) || surplusLeft)
          && !confirming) {
        // A surplus needs a second, agreeing reading before it is burned; taking it a quarter
        // interval later instead of a whole one shortens the time the backlog stays above the
        // window after a flood (§5.5), and the two readings are still taken at different instants.
        // The rest of a surplus that grew past an announcement is read again as soon [v1.3].
        confirming = true;
        try {
          Thread.sleep(Math.max(1, auditInterval.toMillis() / 4));
          tick();
        } finally {
          confirming = false;
        }
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt(); // closing
    } catch (Exception ex) {
      LOG.warn("reconciler of queue {}: {}", queue, ex.toString());
    }
  }

  private ReconcilerLease lease(long now, Ledger last, long previous) {
    return ReconcilerRules.lease(holderId, auditInterval, now, last, previous);
  }

  private void audit(String key, long revision, long previous, ReconcilerLease current)
      throws Exception {
    surplusLeft = false;
    long now = clock.millis();
    QueueSettings settings = settings();
    QueueConfig bounds = QueueConfig.of(settings);
    List<CapacityAdvert> ads = adverts.values();
    CapacityAdvert ownAdvert =
        ads.stream().filter(a -> a.getWorkerId().equals(holderId)).findFirst().orElse(null);
    if (ReconcilerRules.staleView(ownAdvert, now)) {
      skipStaleView(key, revision, now, ownAdvert, current);
      return;
    }
    if (viewStale) {
      viewStale = false;
      LOG.info("queue {}: the reconciler's view of the adverts is current again", queue);
    }
    // Adverts and reports are written by other processes: bound what they can make us mint (§5.1,
    // §5.5 [v1.1]).
    long capacityWindow = Window.window(bounds, ads, now);
    // §15.2: while a rate is set, the window is capped so that what circulates plus what minters
    // may mint at once stays within the burst.
    long window =
        Rates.window(
            capacityWindow, bounds.ratePerSecond(), bounds.rateBurst(), Rates.running(ads, now));
    int unlimited = bounds.rateLimited() ? warnings.unlimitedWorkers(ads, now) : 0;
    long owed = 0;
    // Credits the workers will withhold instead of minting are already out of circulation.
    long debtPending = 0;
    List<CapacityAdvert> live = new java.util.ArrayList<>();
    for (CapacityAdvert a : ads) {
      if (Window.live(a, now)) {
        // This worker's newest announcement read is taken live too: its advert learns it only at
        // the next heartbeat, and until then the rest of a growing surplus would wait (WAIT).
        live.add(
            a.getWorkerId().equals(holderId) ? a.toBuilder().setDebtSeen(debt.seen()).build() : a);
        warnings.warnIfClamped(bounds, a);
        if (!a.getWorkerId().equals(holderId)) {
          // This worker's own owed credits and debt are read live below, not from its advert.
          owed += Window.owed(bounds, a);
          debtPending += a.getDebt();
        }
      }
    }
    int liveWorkers = live.size();
    // The tokens producers hold (num_ack_pending), read before B and again right after T, the
    // larger (§5.5 [v1.3]): a busy producer acks its spent tokens about a millisecond apart, so a
    // single reading after T misses a token acked right after T (in T, its credits also in B, and
    // outside the tolerance), and a single reading before B misses one pulled and spent in
    // between. The first reading comes before B, not between B and T: a round trip there would
    // lengthen the gap in which credits spent and reported are in S but not yet in B.
    long heldBefore = Ledgers.heldTokens(jsm, queue);
    // The backlog with this worker's owed credits (its finishing acks held back), then the tokens,
    // while it mints nothing: a message finished in between is counted twice, never nowhere.
    long[] own =
        replenisher.consistently(
            () -> Ledgers.backlog(jsm, queue),
            (b, o, d) -> new long[] {b, o, d, Ledgers.tokens(jsm, queue)});
    long backlog = own[0];
    owed += own[1];
    debtPending += own[2];
    long tokens = own[3];
    long heldTokens = Math.max(heldBefore, Ledgers.heldTokens(jsm, queue));
    // The producers' reports after B and T (the watch's newest values now): a report lags its
    // producer's spending, and a credit spent after the report was read is in B and in T but not
    // in S (a false surplus); read after them, the reports cover more of what was spent before.
    long heldSpent = 0;
    int liveProducers = 0;
    for (Map.Entry<String, ProducerReport> r : reports.snapshot().entrySet()) {
      if (Window.live(r.getValue(), now)) {
        heldSpent += r.getValue().getHeldSpent();
        liveProducers++;
      } else if (r.getValue().getHeartbeatUnixMs() + 10L * r.getValue().getTtlMs() < now) {
        control.delete(r.getKey()); // a producer that died long ago
      }
    }
    long reportedSpent = heldSpent;
    heldSpent = Credits.boundHeldSpent(heldSpent, heldTokens, bounds.tokenBatch(), tokens);
    overclaims.observe(queue, reportedSpent, heldSpent, bounds.tokenBatch());
    if (current == null && previous == 0 && Ledgers.neverUsed(jsm, queue)) {
      // The first audit of a queue that never stored a message (§5.5, first audit of a fresh
      // queue): no credit can be in transit, so this one reading is as good as two and the first
      // send does not wait two audit intervals for its credits.
      previous = Math.max(1, window);
    }
    Credits.Decision d =
        Credits.reconcile(window, backlog, tokens, heldSpent, owed - debtPending, previous);
    long minted = 0;
    long burned = 0;
    long announced = 0;
    ReconcilerLease debts = current;
    int batch = QueueConfig.of(settings).tokenBatch();
    long burnable =
        d.action() == Credits.Action.BURN
            ? ReconcilerRules.burnable(d.credits(), liveProducers, batch, heldTokens, heldSpent)
            : 0;
    if (d.action() == Credits.Action.MINT
        && !ReconcilerRules.absorbing(debtPending, backlog, owed)) {
      minter.mint(d.credits(), batch, MintReason.MINT_REASON_RECONCILE);
      minted = d.credits();
      LOG.info(
          "queue {}: minted {} credits (window {}, backlog {}, tokens {}, held spent {}, owed {},"
              + " held tokens {})",
          queue,
          minted,
          window,
          backlog,
          tokens,
          heldSpent,
          owed,
          heldTokens);
    } else if (burnable > 0) {
      long amount = burnable;
      long lastId = current == null ? 0 : current.getDebtId();
      switch (FastBurn.plan(live, lastId)) {
        case ANNOUNCE -> {
          long payable = ReconcilerRules.payable(backlog, owed, debtPending);
          // Tokens nobody holds burn at once; only what producers hold becomes a debt, and no more
          // of it than the workers still have to finish: an idle queue could never pay it, and its
          // surplus lies in tokens nobody holds, so they are fetched until none is left.
          burned = burner.burn(amount, batch, payable > 0 ? UNHELD_ONLY : null);
          announced = Math.min(amount - burned, payable);
          if (announced > 0) {
            debts =
                ReconcilerLease.newBuilder()
                    .setDebtId(Math.max(now, lastId + 1))
                    .putAllDebts(FastBurn.shares(announced, FastBurn.absorbers(live)))
                    .build();
            debt.offer(debts); // this worker starts on its own share now, not at its next read
          }
        }
        case FETCH -> burned = burner.burn(amount, batch, null);
        default -> {} // WAIT: a worker has not read the last announcement yet
      }
      // Only when something happened: a surplus nobody can burn (tokens held while a circuit is
      // open) is seen at every audit, and would otherwise log the same line every audit period.
      Level level = burned > 0 || announced > 0 ? Level.INFO : Level.DEBUG;
      LOG.atLevel(level)
          .log(
              "queue {}: burned {} credits, announced a debt of {} (window {}, backlog {}, tokens {},"
                  + " held spent {}, owed {}, debt {}, held tokens {})",
              queue,
              burned,
              announced,
              window,
              backlog,
              tokens,
              heldSpent,
              owed,
              debtPending,
              heldTokens);
    }
    Ledger ledger =
        Ledger.newBuilder()
            .setWindow(window)
            .setBacklog(backlog)
            .setTokens(tokens)
            .setHeldSpent(heldSpent)
            .setOwed(owed)
            .setDeficit(d.deficit())
            .setLiveWorkers(liveWorkers)
            .setLiveProducers(liveProducers)
            .setMinted(minted)
            .setBurned(burned)
            .setDebt(debtPending)
            .setDebtAnnounced(announced)
            .setAuditUnixMs(now)
            .setRatePerSecond(bounds.ratePerSecond())
            .setCapacityWindow(capacityWindow)
            .setUnlimitedWorkers(unlimited)
            .build();
    lastLedger = ledger;
    long nextPrevious = ReconcilerRules.nextPrevious(minted, burned, announced, d.deficit());
    surplusLeft = announced > 0 && nextPrevious < 0;
    try {
      control.update(
          key,
          ReconcilerRules.withDebts(lease(now, ledger, nextPrevious), debts).toByteArray(),
          revision);
    } catch (JetStreamApiException e) {
      leader = false;
    }
  }

  /**
   * An audit on a stale view of the adverts (§5.5 [v1.3]): no mint, no burn, no debt; the lease is
   * renewed with no previous reading, so the first audit on a current view is confirmed by a second
   * one. The worker's heartbeat watches the boards anew when they stay stale.
   */
  private void skipStaleView(
      String key, long revision, long now, CapacityAdvert own, ReconcilerLease current)
      throws Exception {
    if (!viewStale) {
      viewStale = true;
      LOG.info(
          "queue {}: no correction while the reconciler's view of the adverts is stale (its own"
              + " advert is {}); waiting for the watch to catch up",
          queue,
          own == null ? "missing" : (now - own.getHeartbeatUnixMs()) + " ms old");
    }
    try {
      control.update(
          key,
          ReconcilerRules.withDebts(lease(now, lastLedger, 0), current).toByteArray(),
          revision);
    } catch (JetStreamApiException e) {
      leader = false;
    }
  }

  private QueueSettings settings() throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(Protocol.settingsKey(queue));
    if (e == null || e.getValue() == null) {
      return QueueSettings.newBuilder()
          .setQueue(queue)
          .setTokenBatch(QueueConfig.DEFAULT_TOKEN_BATCH)
          .build();
    }
    return QueueSettings.parseFrom(e.getValue());
  }
}
