package dev.sluice.internal.credit;

import dev.sluice.internal.proto.ReconcilerLease;

/**
 * The credits this worker withholds from its replenishment to burn a surplus the reconciler
 * announced (protocol §5.5, fast burn): the surplus disappears as workers finish messages, whether
 * or not producers leave any token in the credit stream for the reconciler to fetch. Thread-safe:
 * the reconciler's thread offers leases, the minter's thread withholds, the advert reads.
 */
public final class Debt {
  private final String workerId;
  private boolean readOne;
  private long seen;
  private long pending;
  private long withheld;

  /** The debt of worker {@code workerId}; it owes nothing until the reconciler says so. */
  public Debt(String workerId) {
    this.workerId = workerId;
  }

  /**
   * Takes this worker's share of a debt announced in {@code lease} that it has not taken yet. The
   * first lease a worker reads only sets where it starts: an announcement made before this process
   * started was made to an earlier process with the same id, or to none.
   */
  public synchronized void offer(ReconcilerLease lease) {
    long id = lease.getDebtId();
    if (!readOne) {
      readOne = true;
      seen = id;
      return;
    }
    if (id > seen) {
      pending += lease.getDebtsOrDefault(workerId, 0L);
      seen = id;
    }
  }

  /** Of {@code n} credits about to be minted, how many to withhold instead (burned). */
  public synchronized long withhold(long n) {
    long k = Math.min(Math.max(0, n), pending);
    pending -= k;
    withheld += k;
    return k;
  }

  /** Credits still to withhold. */
  public synchronized long pending() {
    return pending;
  }

  /** The id of the newest announcement read (0 before any). */
  public synchronized long seen() {
    return seen;
  }

  /** Credits withheld since start. */
  public synchronized long withheld() {
    return withheld;
  }
}
