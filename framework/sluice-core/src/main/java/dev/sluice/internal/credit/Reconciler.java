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
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
  private volatile boolean leader;
  private volatile Ledger lastLedger;
  private final java.util.Set<String> clampedSeen = new java.util.HashSet<>();

  public Reconciler(
      Connection nc,
      String queue,
      String holderId,
      Duration auditInterval,
      KvBoard<CapacityAdvert> adverts,
      KvBoard<ProducerReport> reports,
      TokenMinter minter,
      Clock clock)
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
  }

  /** What a process does with the lease it read: create it, take it over, or stand by. */
  enum Claim {
    CREATE,
    UPDATE,
    STAND_BY
  }

  /**
   * The election rule (§5.5): no lease yet, create it; a lease that is unreadable, this process's
   * own, or expired at {@code nowMs}, take it over (compare-and-set on its revision); otherwise
   * another process holds it.
   */
  static Claim claim(boolean exists, ReconcilerLease current, String holderId, long nowMs) {
    if (!exists) {
      return Claim.CREATE;
    }
    if (current == null
        || current.getHolder().equals(holderId)
        || current.getExpiresUnixMs() < nowMs) {
      return Claim.UPDATE;
    }
    return Claim.STAND_BY;
  }

  /**
   * The deficit the next audit compares against: none after this audit minted or burned, so a
   * correction is always confirmed by two fresh audits and never races a worker's in-flight
   * replenishment.
   */
  static long nextPrevious(long minted, long burned, long deficit) {
    return minted > 0 || burned > 0 ? 0 : deficit;
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
      long previous = current == null ? 0 : current.getPreviousDeficit();
      ReconcilerLease claim = lease(now, current == null ? null : current.getLast(), previous);
      long revision;
      try {
        switch (claim(e != null, current, holderId, now)) {
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
      audit(key, revision, previous);
    } catch (Exception ex) {
      LOG.warn("reconciler of queue {}: {}", queue, ex.toString());
    }
  }

  private ReconcilerLease lease(long now, Ledger last, long previous) {
    return lease(holderId, auditInterval, now, last, previous);
  }

  /** The lease {@code holder} writes at {@code now}: it expires after three audit intervals. */
  static ReconcilerLease lease(
      String holder, Duration auditInterval, long now, Ledger last, long previous) {
    ReconcilerLease.Builder b =
        ReconcilerLease.newBuilder()
            .setHolder(holder)
            .setExpiresUnixMs(now + 3 * auditInterval.toMillis())
            .setPreviousDeficit(previous);
    if (last != null) {
      b.setLast(last);
    }
    return b.build();
  }

  private void audit(String key, long revision, long previous) throws Exception {
    long now = clock.millis();
    QueueSettings settings = settings();
    QueueConfig bounds = QueueConfig.of(settings);
    List<CapacityAdvert> ads = adverts.values();
    // Adverts and reports are written by other processes: bound what they can make us mint (§5.1,
    // §5.5 [v1.1]).
    long window = Window.window(bounds, ads, now);
    long owed = 0;
    int liveWorkers = 0;
    for (CapacityAdvert a : ads) {
      if (Window.live(a, now)) {
        owed += Window.owed(bounds, a);
        liveWorkers++;
        warnIfClamped(bounds, a);
      }
    }
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
    long backlog = Ledgers.backlog(jsm, queue);
    long tokens = Ledgers.tokens(jsm, queue);
    long reportedSpent = heldSpent;
    heldSpent =
        Credits.boundHeldSpent(
            heldSpent, Ledgers.heldTokens(jsm, queue), bounds.tokenBatch(), tokens);
    if (heldSpent + bounds.tokenBatch() < reportedSpent) {
      // Beyond a token's worth: not the lag of a report read from a watch, but a report that
      // claims more than its producer can hold.
      LOG.warn(
          "queue {}: producers report {} held spent credits, more than the tokens they hold can"
              + " carry; counting {}",
          queue,
          reportedSpent,
          heldSpent);
    }
    Credits.Decision d = Credits.reconcile(window, backlog, tokens, heldSpent, owed, previous);
    long minted = 0;
    long burned = 0;
    int batch = QueueConfig.of(settings).tokenBatch();
    if (d.action() == Credits.Action.MINT) {
      minter.mint(d.credits(), batch, MintReason.MINT_REASON_RECONCILE);
      minted = d.credits();
      LOG.info(
          "queue {}: minted {} credits (window {}, backlog {}, tokens {}, held spent {}, owed {})",
          queue,
          minted,
          window,
          backlog,
          tokens,
          heldSpent,
          owed);
    } else if (d.action() == Credits.Action.BURN && d.credits() > liveProducers * (long) batch) {
      // Producers report held credits a moment after they spend them, so a busy queue always
      // shows a small false surplus; only what exceeds one token per live producer is real.
      burned = burn(d.credits() - liveProducers * (long) batch, batch);
      LOG.info(
          "queue {}: burned {} credits (window {}, backlog {}, tokens {}, held spent {}, owed {})",
          queue,
          burned,
          window,
          backlog,
          tokens,
          heldSpent,
          owed);
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
            .setAuditUnixMs(now)
            .build();
    lastLedger = ledger;
    long nextPrevious = nextPrevious(minted, burned, d.deficit());
    try {
      control.update(key, lease(now, ledger, nextPrevious).toByteArray(), revision);
    } catch (JetStreamApiException e) {
      leader = false;
    }
  }

  /** Logs an advert above the per-worker bound once per worker and claimed value. */
  private void warnIfClamped(QueueConfig bounds, CapacityAdvert a) {
    if (!Window.exceeds(bounds, a)) {
      return;
    }
    String seen = a.getWorkerId() + "/" + a.getCapacity() + "/" + a.getOwedCredits();
    if (clampedSeen.add(seen)) {
      LOG.warn(
          "queue {}: worker {} advertises capacity {} and owed {}, above max_worker_capacity {}:"
              + " counting {} (check the worker's settings, or who may write sluice-capacity)",
          queue,
          a.getWorkerId(),
          a.getCapacity(),
          a.getOwedCredits(),
          bounds.maxWorkerCapacity(),
          bounds.maxWorkerCapacity());
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

  /** Takes available tokens out of circulation; mints back what a token held beyond the need. */
  private long burn(long amount, int batch) throws Exception {
    JetStreamSubscription sub =
        js.subscribe(
            null,
            PullSubscribeOptions.bind(Protocol.CREDIT_STREAM, Protocol.creditConsumer(queue)));
    long burned = 0;
    try {
      while (burned < amount) {
        List<Message> got = sub.fetch(1, Duration.ofMillis(300));
        if (got.isEmpty()) {
          break; // every remaining token is held: burn the rest at a later audit
        }
        for (Message m : got) {
          long v = Credits.tokenValue(m.getSubject());
          if (v <= 0) {
            m.term();
            continue;
          }
          long need = amount - burned;
          if (v > need) {
            minter.mint(v - need, batch, MintReason.MINT_REASON_RETURN);
            burned += need;
          } else {
            burned += v;
          }
          m.ackSync(Duration.ofSeconds(2));
        }
      }
    } finally {
      sub.unsubscribe();
    }
    return burned;
  }
}
