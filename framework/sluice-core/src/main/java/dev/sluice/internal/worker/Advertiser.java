package dev.sluice.internal.worker;

import dev.sluice.internal.credit.Capacity;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.Replenisher;
import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.KeyValue;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's advert (protocol §5.2): capacity from the one {@link Capacity} formula, in-flight,
 * service rate (an EWMA updated every heartbeat), handled types and versions, credit counters. It
 * also re-watches the KV boards when its own advert goes stale in them. Thread-safe: {@link
 * #advertise()} may be called from any thread; {@link #heartbeat()} runs on the timer thread.
 */
final class Advertiser {
  private static final Logger LOG = LoggerFactory.getLogger(Advertiser.class);

  private final WorkerSettings s;
  private final KeyValue capacityKv;
  private final KvBoard<CapacityAdvert> adverts;
  private final KvBoard<ProducerReport> reports;
  private final Classifier.Handles handles;
  private final WorkerHealth health;
  private final IntSupplier inFlight;
  private final Clock clock;
  private Replenisher replenisher;
  private Pushback pushback;
  private volatile double rate;
  // Heartbeat-thread state.
  private long lastCompleted;
  private long lastRateNanos;
  private long boardMissingSince;

  Advertiser(
      WorkerSettings s,
      KeyValue capacityKv,
      KvBoard<CapacityAdvert> adverts,
      KvBoard<ProducerReport> reports,
      Classifier.Handles handles,
      WorkerHealth health,
      IntSupplier inFlight) {
    this.s = s;
    this.capacityKv = capacityKv;
    this.adverts = adverts;
    this.reports = reports;
    this.handles = handles;
    this.health = health;
    this.inFlight = inFlight;
    this.clock = s.clock();
    this.lastRateNanos = clock.nanos();
  }

  /** Set once, before the first advert: the replenisher reads the capacity this class computes. */
  void replenisher(Replenisher r) {
    this.replenisher = r;
  }

  /** Set once, before the first advert (§15.1): lowers the capacity while pushed back. */
  void pushback(Pushback p) {
    this.pushback = p;
  }

  /** Messages finished per second, smoothed. */
  double rate() {
    return rate;
  }

  /** The capacity the carry threshold is sized against (without the in-transit allowance). */
  int capacityForCarry() {
    return s.capacity().of(rate, 0);
  }

  /** The capacity advertised now: the nominal one, lowered while pushed back (§15.1). */
  int capacity() {
    return pushback.capacity(nominalCapacity());
  }

  /** The capacity without pushback: zero unless the worker is taking work. */
  int nominalCapacity() {
    if (!health.takingWork()) {
      return 0;
    }
    // Credits in transit (owed carry, a token on its way or at a producer) are part of the window
    // but not of the backlog: two carry batches keep them from eating the queue-wait budget.
    int allowance = s.capacity().followsRate() ? 2 * replenisher.effectiveBatch() : 0;
    return s.capacity().of(rate, allowance);
  }

  /** Updates the service rate, writes the advert and checks the boards' watches. */
  void heartbeat() {
    try {
      long now = clock.nanos();
      long completed = replenisher.completed();
      double dt = (now - lastRateNanos) / 1e9;
      if (dt > 0) {
        rate = Credits.serviceRate(rate, completed - lastCompleted, dt);
      }
      lastCompleted = completed;
      lastRateNanos = now;
      advertise();
      checkBoards();
    } catch (RuntimeException e) {
      LOG.warn("heartbeat failed: {}", e.toString());
    }
  }

  /**
   * This worker writes its own advert every heartbeat, so the adverts board must show it fresh.
   * When it does not, the board's watch has stopped (a server restart can lose its consumer): the
   * reconciler would read a window of 0. Watch both boards anew.
   */
  private void checkBoards() {
    CapacityAdvert own = adverts.get(Protocol.advertKey(s.queue(), s.workerId()));
    long staleAfter = 2 * s.advertTtl().toMillis();
    long now = clock.millis();
    if (own == null) {
      if (boardMissingSince == 0) {
        boardMissingSince = now;
      }
    } else {
      boardMissingSince = 0;
    }
    boolean stale =
        own != null
            ? now - own.getHeartbeatUnixMs() > staleAfter
            : boardMissingSince != 0 && now - boardMissingSince > staleAfter;
    if (stale && health.running() && !health.draining()) {
      boardMissingSince = 0;
      LOG.info(
          "queue {}: the adverts watch went stale (own advert not seen); watching anew", s.queue());
      adverts.rewatch();
      reports.rewatch();
    }
  }

  /** Writes the advert now; never throws. */
  void advertise() {
    int nominal = nominalCapacity();
    CapacityAdvert.Builder b =
        CapacityAdvert.newBuilder()
            .setWorkerId(s.workerId())
            .setQueue(s.queue())
            .setProtocolVersion(Protocol.VERSION)
            .setCapacity(pushback.capacity(nominal))
            .setNominalCapacity(nominal) // §15.1
            .setPushbacksTotal(pushback.pushbacks())
            .setPushbackDecreasesTotal(pushback.decreases())
            .setLoweredSinceUnixMs(pushback.loweredSinceMs())
            .setInFlight(inFlight.getAsInt())
            .setServiceRate(rate)
            .setHeartbeatUnixMs(clock.millis())
            .setTtlMs((int) s.advertTtl().toMillis())
            .setState(health.wireState())
            .setProblem(health.advertProblem())
            .setOwedCredits((int) Math.min(Integer.MAX_VALUE, replenisher.owed()))
            .setLanguage("java")
            .setCompletedTotal(replenisher.completed())
            .setMintedTotal(replenisher.minted())
            .setTokenBatch(replenisher.effectiveBatch())
            .setDebt(replenisher.debt().pending())
            .setDebtSeen(replenisher.debt().seen())
            .setAbsorbsDebt(s.reconciler()) // only a worker that reads the lease learns its share
            .setRateLimited(true) // §15.2: this worker mints within its share of the rate
            .setRateShare(replenisher.rateGate().share());
    for (var e : s.handlers().entrySet()) {
      int max = e.getValue().keySet().stream().mapToInt(Integer::intValue).max().orElse(1);
      int min = max;
      while (min > 1 && handles.handles(e.getKey(), min - 1)) {
        min--;
      }
      b.addHandled(
          HandledType.newBuilder().setType(e.getKey()).setMinVersion(min).setMaxVersion(max));
    }
    try {
      capacityKv.put(Protocol.advertKey(s.queue(), s.workerId()), b.build().toByteArray());
    } catch (Exception e) {
      LOG.warn("could not write the capacity advert: {}", e.toString());
    }
  }

  /** Deletes the advert (shutdown); never throws. */
  void withdraw() {
    try {
      capacityKv.delete(Protocol.advertKey(s.queue(), s.workerId()));
    } catch (Exception e) {
      LOG.warn("could not withdraw the capacity advert (it expires by itself): {}", e.toString());
    }
  }
}
