package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.proto.WorkerState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure rules of the fast burn (protocol §5.5): shares, plans and a worker's debt. */
class FastBurnRulesTest {
  static CapacityAdvert advert(String id, int capacity, boolean absorbs, long seen, long debt) {
    return CapacityAdvert.newBuilder()
        .setWorkerId(id)
        .setCapacity(capacity)
        .setState(WorkerState.WORKER_STATE_RUNNING)
        .setAbsorbsDebt(absorbs)
        .setDebtSeen(seen)
        .setDebt(debt)
        .build();
  }

  /** Shares follow capacity and sum to the amount exactly: a lost remainder would leave surplus. */
  @Test
  void sharesFollowCapacityAndSumToTheAmount() {
    Map<String, Long> s =
        FastBurn.shares(
            10,
            List.of(
                advert("b", 1, true, 0, 0),
                advert("a", 1, true, 0, 0),
                advert("c", 2, true, 0, 0)));
    // 10 x 1/4 = 2.5, 2.5, 5: the two remainders of one half go to a then b (ties by id).
    assertThat(s).containsExactlyInAnyOrderEntriesOf(Map.of("a", 3L, "b", 2L, "c", 5L));
    assertThat(s.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(10);
    assertThat(FastBurn.shares(5, List.of(advert("x", 0, true, 0, 0), advert("y", 0, true, 0, 0))))
        .containsExactlyInAnyOrderEntriesOf(Map.of("x", 3L, "y", 2L));
  }

  /**
   * Only workers that absorb debts get a share; with none the reconciler fetches tokens, and it
   * waits while one has not read the last announcement (its advert's debt would be counted short,
   * and the same surplus announced twice).
   */
  @Test
  void planAnnouncesWaitsOrFetches() {
    assertThat(FastBurn.plan(List.of(advert("old", 8, false, 0, 0)), 0))
        .isEqualTo(FastBurn.Plan.FETCH);
    assertThat(
            FastBurn.plan(List.of(advert("old", 8, false, 0, 0), advert("new", 8, true, 7, 0)), 7))
        .isEqualTo(FastBurn.Plan.ANNOUNCE);
    assertThat(FastBurn.plan(List.of(advert("new", 8, true, 6, 0)), 7))
        .isEqualTo(FastBurn.Plan.WAIT);
    assertThat(
            FastBurn.absorbers(
                List.of(advert("old", 8, false, 0, 0), advert("new", 8, true, 7, 0))))
        .extracting(CapacityAdvert::getWorkerId)
        .containsExactly("new");
  }

  static ReconcilerLease announcement(long id, String worker, long share) {
    return ReconcilerLease.newBuilder().setDebtId(id).putDebts(worker, share).build();
  }

  /**
   * A worker takes each announcement once, withholds up to its debt, and ignores the announcement
   * it finds at start (made to an earlier process with its id): otherwise a restart would burn a
   * surplus twice.
   */
  @Test
  void debtTakesEachAnnouncementOnceAndNotTheOneFoundAtStart() {
    Debt d = new Debt("w1");
    d.offer(announcement(5, "w1", 100));
    assertThat(d.pending()).isZero();
    assertThat(d.seen()).isEqualTo(5);

    d.offer(announcement(9, "w1", 10));
    d.offer(announcement(9, "w1", 10));
    assertThat(d.pending()).isEqualTo(10);
    d.offer(announcement(12, "w2", 50));
    assertThat(d.pending()).isEqualTo(10);
    assertThat(d.seen()).isEqualTo(12);

    assertThat(d.withhold(4)).isEqualTo(4);
    assertThat(d.withhold(32)).isEqualTo(6);
    assertThat(d.withhold(32)).isZero();
    assertThat(d.withheld()).isEqualTo(10);
  }

  /** The lease keeps the newest announcement across every write until the next one. */
  @Test
  void leaseWritesCarryTheAnnouncementForward() {
    ReconcilerLease fresh =
        ReconcilerRules.lease("w1", java.time.Duration.ofSeconds(2), 1000, null, -3);
    ReconcilerLease carried = ReconcilerRules.withDebts(fresh, announcement(900, "w2", 7));
    assertThat(carried.getDebtId()).isEqualTo(900);
    assertThat(carried.getDebtsMap()).containsExactlyEntriesOf(Map.of("w2", 7L));
    assertThat(carried.getPreviousDeficit()).isEqualTo(-3);
    assertThat(ReconcilerRules.withDebts(fresh, null)).isEqualTo(fresh);
  }
}
