package dev.sluice.internal.credit;

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
   * then, unless nothing is left to flow (no message, no token), when no worker could ever absorb
   * it.
   */
  static boolean absorbing(long debtPending, long backlog, long tokens) {
    return debtPending > 0 && backlog + tokens > 0;
  }

  /**
   * Producers report held credits a moment after they spend them, so a busy queue always shows a
   * small false surplus: only what exceeds one token per live producer is burned (0: nothing); the
   * rule is {@link Credits#burnAmount}, pinned by the vectors.
   */
  static long burnable(long surplus, int liveProducers, int batch) {
    return Credits.burnAmount(surplus, liveProducers, batch);
  }

  /** {@code lease} with the newest debt announcement of {@code from} carried forward (§5.5). */
  static ReconcilerLease withDebts(ReconcilerLease lease, ReconcilerLease from) {
    if (from == null || from.getDebtId() == 0) {
      return lease;
    }
    return lease.toBuilder().setDebtId(from.getDebtId()).putAllDebts(from.getDebtsMap()).build();
  }
}
