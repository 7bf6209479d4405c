package dev.sluice.internal.inspect;

import dev.sluice.CreditToken;
import dev.sluice.ProducerReport;
import dev.sluice.ReconcilerLease;
import dev.sluice.StoredMessage;
import dev.sluice.WorkerAdvert;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.proto.Ledger;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** The protobuf control-plane records (§5.2, §5.5, §6) as the public read model. */
final class Snapshots {
  private Snapshots() {}

  static WorkerAdvert advert(CapacityAdvert a, long nowMs) {
    return new WorkerAdvert(
        a.getWorkerId(),
        a.getQueue(),
        a.getLanguage(),
        a.getProtocolVersion(),
        state(a.getState()),
        Integer.toUnsignedLong(a.getCapacity()),
        Integer.toUnsignedLong(a.getInFlight()),
        a.getServiceRate(),
        a.getHandledList().stream().map(Snapshots::handled).toList(),
        Instant.ofEpochMilli(a.getHeartbeatUnixMs()),
        Duration.ofMillis(Integer.toUnsignedLong(a.getTtlMs())),
        Integer.toUnsignedLong(a.getOwedCredits()),
        a.getCompletedTotal(),
        a.getMintedTotal(),
        a.getTokenBatch(),
        a.getDebt(),
        a.getProblem(),
        new WorkerAdvert.Pushback(
            Integer.toUnsignedLong(a.getNominalCapacity()),
            a.getPushbacksTotal(),
            a.getPushbackDecreasesTotal(),
            a.getLoweredSinceUnixMs() == 0
                ? null
                : Instant.ofEpochMilli(a.getLoweredSinceUnixMs())),
        Window.live(a, nowMs));
  }

  /** The queue's rate limit with each live worker's share (§15.2); empty without one. */
  static Optional<dev.sluice.RateLimit> rateLimit(
      dev.sluice.internal.credit.QueueConfig qc, java.util.List<CapacityAdvert> adverts, long now) {
    if (!qc.rateLimited()) {
      return Optional.empty();
    }
    java.util.Map<String, Double> shares = new java.util.TreeMap<>();
    java.util.List<String> unlimited = new java.util.ArrayList<>();
    for (CapacityAdvert a : adverts) {
      if (dev.sluice.internal.credit.Rates.unlimited(a, now)) {
        unlimited.add(a.getWorkerId());
      } else if (Window.live(a, now) && a.getRateLimited()) {
        shares.put(a.getWorkerId(), a.getRateShare());
      }
    }
    java.util.Collections.sort(unlimited);
    return Optional.of(
        new dev.sluice.RateLimit(
            qc.ratePerSecond(),
            qc.rateBurst(),
            dev.sluice.internal.credit.Window.window(qc, adverts, now),
            shares,
            unlimited));
  }

  static WorkerAdvert.State state(dev.sluice.internal.proto.WorkerState s) {
    return switch (s) {
      case WORKER_STATE_RUNNING -> WorkerAdvert.State.RUNNING;
      case WORKER_STATE_DRAINING -> WorkerAdvert.State.DRAINING;
      case WORKER_STATE_CIRCUIT_OPEN -> WorkerAdvert.State.CIRCUIT_OPEN;
      default -> WorkerAdvert.State.UNKNOWN;
    };
  }

  static WorkerAdvert.HandledType handled(HandledType h) {
    return new WorkerAdvert.HandledType(h.getType(), h.getMinVersion(), h.getMaxVersion());
  }

  static ProducerReport producer(dev.sluice.internal.proto.ProducerReport r, long nowMs) {
    return new ProducerReport(
        r.getProducerId(),
        r.getQueue(),
        r.getLanguage(),
        Integer.toUnsignedLong(r.getHeldSpent()),
        Integer.toUnsignedLong(r.getHeldUnspent()),
        Integer.toUnsignedLong(r.getWaiting()),
        r.getSentTotal(),
        Instant.ofEpochMilli(r.getHeartbeatUnixMs()),
        Duration.ofMillis(Integer.toUnsignedLong(r.getTtlMs())),
        Window.live(r, nowMs),
        r.getFairnessKeysList().stream()
            .map(
                k ->
                    new ProducerReport.FairnessKey(
                        k.getKey(),
                        k.getWeight(),
                        Integer.toUnsignedLong(k.getWaiting()),
                        k.getGrantedTotal()))
            .toList());
  }

  static ReconcilerLease lease(dev.sluice.internal.proto.ReconcilerLease l) {
    return new ReconcilerLease(
        l.getHolder(),
        Instant.ofEpochMilli(l.getExpiresUnixMs()),
        l.getPreviousDeficit(),
        l.hasLast() ? Optional.of(audit(l.getLast())) : Optional.empty());
  }

  static CreditToken token(StoredMessage m) {
    long credits = Credits.tokenValue(m.subject());
    try {
      dev.sluice.internal.proto.CreditToken t =
          dev.sluice.internal.proto.CreditToken.parseFrom(m.data());
      CreditToken.Reason reason =
          switch (t.getReason()) {
            case MINT_REASON_REPLENISH -> CreditToken.Reason.REPLENISH;
            case MINT_REASON_RECONCILE -> CreditToken.Reason.RECONCILE;
            case MINT_REASON_RETURN -> CreditToken.Reason.RETURN;
            case MINT_REASON_BOOTSTRAP -> CreditToken.Reason.BOOTSTRAP;
            default -> CreditToken.Reason.UNKNOWN;
          };
      return new CreditToken(
          m.sequence(),
          credits,
          t.getMintedBy(),
          Instant.ofEpochMilli(t.getMintedUnixMs()),
          reason);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      // the subject still says what the token is worth; the body is a peer's bug to show
      return new CreditToken(m.sequence(), credits, "", m.storedAt(), CreditToken.Reason.UNKNOWN);
    }
  }

  static ReconcilerLease.Audit audit(Ledger l) {
    return new ReconcilerLease.Audit(
        l.getWindow(),
        l.getBacklog(),
        l.getTokens(),
        l.getHeldSpent(),
        l.getOwed(),
        l.getDeficit(),
        l.getLiveWorkers(),
        l.getLiveProducers(),
        l.getMinted(),
        l.getBurned(),
        Instant.ofEpochMilli(l.getAuditUnixMs()));
  }
}
