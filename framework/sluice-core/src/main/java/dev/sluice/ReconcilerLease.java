package dev.sluice;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Who reconciles a queue and what its last audit found (PROTOCOL.md §5.5). One worker of the queue
 * holds the lease at a time and renews it every audit. Immutable and thread-safe.
 *
 * @param holder the id of the worker holding the lease
 * @param expiresAt when the lease ends unless renewed
 * @param previousDeficit the deficit the holder saw at the audit before the last one; it mints only
 *     a deficit that two audits agree on
 * @param lastAudit the ledger of the holder's last audit, empty before the first one
 */
public record ReconcilerLease(
    String holder, Instant expiresAt, long previousDeficit, Optional<Audit> lastAudit) {

  /** Rejects nulls. */
  public ReconcilerLease {
    Objects.requireNonNull(holder, "holder");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(lastAudit, "lastAudit");
  }

  /**
   * One audit's ledger: the terms of {@code B + T − S + O = W} as the reconciler read them, and
   * what it did about the difference.
   *
   * @param window W, the credit window
   * @param backlog B, messages stored in the work stream
   * @param tokens T, credits stored in the credit stream
   * @param heldSpent S, credits producers hold and have spent
   * @param owed O, credits workers owe and have not minted
   * @param deficit {@code W − (B + T − S + O)}; positive means credits are missing
   * @param liveWorkers live worker adverts at the audit
   * @param liveProducers live producer reports at the audit
   * @param minted credits the audit minted
   * @param burned credits the audit burned
   * @param at when the audit ran
   */
  public record Audit(
      long window,
      long backlog,
      long tokens,
      long heldSpent,
      long owed,
      long deficit,
      int liveWorkers,
      int liveProducers,
      long minted,
      long burned,
      Instant at) {
    /** Rejects a null time. */
    public Audit {
      Objects.requireNonNull(at, "at");
    }
  }
}
