package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.ReconcilerLease;
import java.time.Duration;

/**
 * The reconciler's pure rules (protocol §5.5): the lease election, the lease a holder writes, the
 * two-audit rule and the carrying forward of a debt announcement. No I/O and no clock of their own:
 * every time is passed in, so the rules are unit-tested on a fake clock; {@link Reconciler} reads
 * the buckets and streams and applies them.
 */
final class ReconcilerRules {
  private ReconcilerRules() {}

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

  /** The lease {@code holder} writes at {@code nowMs}: it expires after three audit intervals. */
  static ReconcilerLease lease(
      String holder, Duration auditInterval, long nowMs, Ledger last, long previous) {
    ReconcilerLease.Builder b =
        ReconcilerLease.newBuilder()
            .setHolder(holder)
            .setExpiresUnixMs(nowMs + 3 * auditInterval.toMillis())
            .setPreviousDeficit(previous);
    if (last != null) {
      b.setLast(last);
    }
    return b.build();
  }

  /**
   * The deficit the next audit compares against: none after this audit minted or burned, so a
   * correction is always confirmed by two fresh audits and never races a worker's in-flight
   * replenishment.
   */
  static long nextPrevious(long minted, long burned, long deficit) {
    return minted > 0 || burned > 0 ? 0 : deficit;
  }

  /**
   * The deficit the next audit compares against after an audit that may have announced a debt: an
   * announced debt is counted by the next audit (the adverts' debt), so what is left of the surplus
   * can be announced at once; a mint or a fetch-burn needs two fresh audits ({@link
   * #nextPrevious}).
   */
  static long nextPrevious(long minted, long burned, long announced, long deficit) {
    return announced > 0 ? deficit + burned + announced : nextPrevious(minted, burned, deficit);
  }

  /** True when {@code ledger} reads a surplus that the previous audit did not (§5.5). */
  static boolean firstSurplusReading(long previous, Ledger ledger) {
    return ledger != null && ledger.getDeficit() < 0 && previous >= 0;
  }

  /**
   * True while a debt is being absorbed: it reads as a small deficit while adverts lag, so no mint
   * then (§5.5). Only finishing messages absorbs a debt: with no message in the backlog and no
   * credit owed, nothing is being absorbed, and a deficit read then is real (for example a debt
   * announced from a reading that was wrong, larger than the surplus): it is minted, and the debt
   * stays out of circulation until messages flow and pay it [v1.3].
   */
  static boolean absorbing(long debtPending, long backlog, long owed) {
    return Credits.mintHeldBackByDebt(debtPending, backlog, owed);
  }

  /**
   * How much of a confirmed surplus may be announced as a debt (§5.5 [v1.3]): no more than the
   * messages and owed credits still to be finished ({@code backlog + owed}) beyond the debt already
   * pending, because a worker pays a debt only by withholding the credits of what it finishes. An
   * idle queue can pay nothing; its surplus lies in unheld tokens, which the reconciler fetches.
   */
  static long payable(long backlog, long owed, long debtPending) {
    return Credits.debtPayable(backlog, owed, debtPending);
  }

  /**
   * Whether the reconciler's view of the adverts cannot be trusted (§5.5 [v1.2]): its own worker
   * writes an advert every heartbeat (at most half the advert's ttl), so a view in which that
   * advert is missing, or older than three quarters of its ttl, has stopped following the bucket (a
   * watch being restarted, or one a frozen server stopped feeding), and the window it gives is
   * wrong. No correction is made from it.
   */
  static boolean staleView(CapacityAdvert own, long nowMs) {
    return own == null || nowMs - own.getHeartbeatUnixMs() > own.getTtlMs() * 3L / 4;
  }

  /**
   * Producers report held credits a moment after they spend them, so a busy queue always shows a
   * small false surplus: only what exceeds one token per live producer, plus what the {@code
   * heldTokens} hold beyond the reported {@code heldSpent} [v1.3], is burned (0: nothing); the rule
   * is {@link Credits#burnAmount}, pinned by the vectors.
   */
  static long burnable(
      long surplus, int liveProducers, int batch, long heldTokens, long heldSpent) {
    return Credits.burnAmount(surplus, liveProducers, batch, heldTokens, heldSpent);
  }

  /** {@code lease} with the newest debt announcement of {@code from} carried forward (§5.5). */
  static ReconcilerLease withDebts(ReconcilerLease lease, ReconcilerLease from) {
    if (from == null || from.getDebtId() == 0) {
      return lease;
    }
    return lease.toBuilder().setDebtId(from.getDebtId()).putAllDebts(from.getDebtsMap()).build();
  }
}
