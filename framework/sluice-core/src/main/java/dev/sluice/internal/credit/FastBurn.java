package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.WorkerState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reconciler's rules for burning a surplus by debt (protocol §5.5, fast burn): the surplus is
 * announced as shares that live workers withhold from their next mints, so it disappears as they
 * finish messages instead of waiting for tokens that busy producers always fetch first. Pure
 * functions of the adverts read by one audit; thread-safe.
 */
final class FastBurn {
  private FastBurn() {}

  /** What the reconciler does with a surplus it has confirmed. */
  enum Plan {
    /** Announce the surplus as a debt shared by the workers that absorb debts. */
    ANNOUNCE,
    /** A worker has not read the last announcement yet: its debt reading is not complete. */
    WAIT,
    /** No live worker absorbs debts (revision 1 only): fetch tokens and burn them. */
    FETCH
  }

  /** The live, running workers that absorb debts. */
  static List<CapacityAdvert> absorbers(List<CapacityAdvert> live) {
    List<CapacityAdvert> out = new ArrayList<>();
    for (CapacityAdvert a : live) {
      if (a.getAbsorbsDebt() && a.getState() == WorkerState.WORKER_STATE_RUNNING) {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * ANNOUNCE when every absorbing worker has read the newest announcement {@code lastDebtId} (so
   * each advert's debt includes its share of it, and a new debt is not counted twice), WAIT while
   * one has not, FETCH when none absorbs debts.
   */
  static Plan plan(List<CapacityAdvert> live, long lastDebtId) {
    List<CapacityAdvert> absorbers = absorbers(live);
    if (absorbers.isEmpty()) {
      return Plan.FETCH;
    }
    for (CapacityAdvert a : absorbers) {
      if (a.getDebtSeen() < lastDebtId) {
        return Plan.WAIT;
      }
    }
    return Plan.ANNOUNCE;
  }

  /**
   * Splits {@code amount} over {@code absorbers} in proportion to their capacity (equally when all
   * are 0), largest remainders first, ties by worker id: the shares sum to {@code amount} exactly.
   */
  static Map<String, Long> shares(long amount, List<CapacityAdvert> absorbers) {
    Map<String, Long> out = new LinkedHashMap<>();
    if (absorbers.isEmpty() || amount <= 0) {
      return out;
    }
    long total = 0;
    for (CapacityAdvert a : absorbers) {
      total += a.getCapacity();
    }
    List<long[]> rest = new ArrayList<>(); // {index, remainder numerator}
    long given = 0;
    for (int i = 0; i < absorbers.size(); i++) {
      long weight = total > 0 ? absorbers.get(i).getCapacity() : 1;
      long denominator = total > 0 ? total : absorbers.size();
      long share = amount * weight / denominator;
      out.merge(absorbers.get(i).getWorkerId(), share, Long::sum);
      given += share;
      rest.add(new long[] {i, amount * weight % denominator});
    }
    rest.sort(
        Comparator.<long[]>comparingLong(r -> -r[1])
            .thenComparing(r -> absorbers.get((int) r[0]).getWorkerId()));
    for (int i = 0; given < amount; i++, given++) {
      out.merge(absorbers.get((int) rest.get(i % rest.size())[0]).getWorkerId(), 1L, Long::sum);
    }
    return out;
  }
}
