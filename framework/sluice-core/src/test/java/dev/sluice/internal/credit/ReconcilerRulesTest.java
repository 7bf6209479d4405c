package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The reconciler's election and two-audit rule (protocol §5.5), on a fake clock. */
class ReconcilerRulesTest {
  private static final Duration AUDIT = Duration.ofSeconds(2);
  private final FakeClock clock = new FakeClock();

  @Test
  void anotherHoldersLeaseIsRespectedUntilThreeAuditsHavePassed() {
    ReconcilerLease theirs = ReconcilerRules.lease("w1", AUDIT, clock.millis(), null, 0);

    clock.advance(AUDIT.multipliedBy(3));
    // Taking a live lease would give the queue two reconcilers minting the same deficit.
    assertThat(ReconcilerRules.claim(true, theirs, "w2", clock.millis()))
        .isEqualTo(ReconcilerRules.Claim.STAND_BY);
    clock.advance(Duration.ofMillis(1));
    // Never taking an expired one would leave the queue without healing after its holder died.
    assertThat(ReconcilerRules.claim(true, theirs, "w2", clock.millis()))
        .isEqualTo(ReconcilerRules.Claim.UPDATE);
  }

  @Test
  void theHolderRenewsItsOwnLeaseAndAMissingLeaseIsCreated() {
    ReconcilerLease mine = ReconcilerRules.lease("w1", AUDIT, clock.millis(), null, 0);
    assertThat(ReconcilerRules.claim(true, mine, "w1", clock.millis()))
        .isEqualTo(ReconcilerRules.Claim.UPDATE);
    assertThat(ReconcilerRules.claim(false, null, "w1", clock.millis()))
        .isEqualTo(ReconcilerRules.Claim.CREATE);
    assertThat(ReconcilerRules.claim(true, null, "w1", clock.millis()))
        .as("an unreadable lease is taken over")
        .isEqualTo(ReconcilerRules.Claim.UPDATE);
  }

  @Test
  void aDeficitIsMintedOnlyWhenTwoAuditsInARowSeeIt() {
    // First audit: window 64, backlog 60, nothing else: a deficit of 4, possibly a worker's
    // replenishment in flight. Minting now would race it and overshoot the window.
    Credits.Decision first = Credits.reconcile(64, 60, 0, 0, 0, 0);
    assertThat(first.action()).isEqualTo(Credits.Action.NONE);
    assertThat(first.deficit()).isEqualTo(4);
    long previous = ReconcilerRules.nextPrevious(0, 0, first.deficit());

    // Second audit a period later: the deficit persists (now 6): mint the smaller of the two.
    Credits.Decision second = Credits.reconcile(64, 58, 0, 0, 0, previous);
    assertThat(second.action()).isEqualTo(Credits.Action.MINT);
    assertThat(second.credits()).isEqualTo(4);

    // After a correction the count starts again: the next deficit also needs two audits.
    long afterMint = ReconcilerRules.nextPrevious(second.credits(), 0, second.deficit());
    assertThat(afterMint).isZero();
    assertThat(Credits.reconcile(64, 62, 0, 0, 0, afterMint).action())
        .isEqualTo(Credits.Action.NONE);
  }

  @Test
  void aSurplusThatFlipsSignBetweenAuditsIsLeftAlone() {
    long previous =
        ReconcilerRules.nextPrevious(0, 0, Credits.reconcile(64, 70, 0, 0, 0, 0).deficit());
    assertThat(previous).isEqualTo(-6);
    assertThat(Credits.reconcile(64, 60, 0, 0, 0, previous).action())
        .isEqualTo(Credits.Action.NONE);
    assertThat(Credits.reconcile(64, 66, 0, 0, 0, previous).action())
        .isEqualTo(Credits.Action.BURN);
  }

  @Test
  void aFirstSurplusReadingIsConfirmedBeforeItIsBurned() {
    Ledger surplus = Ledger.newBuilder().setDeficit(-5).build();
    // The previous audit saw no surplus: a second reading must agree before anything burns.
    assertThat(ReconcilerRules.firstSurplusReading(0, surplus)).isTrue();
    assertThat(ReconcilerRules.firstSurplusReading(3, surplus)).isTrue();
    // Already the second reading: the audit itself burns; no extra confirming audit.
    assertThat(ReconcilerRules.firstSurplusReading(-5, surplus)).isFalse();
    assertThat(ReconcilerRules.firstSurplusReading(0, Ledger.newBuilder().setDeficit(2).build()))
        .isFalse();
    assertThat(ReconcilerRules.firstSurplusReading(0, null)).isFalse();
  }

  @Test
  void anAnnouncedDebtLetsTheRestOfTheSurplusBeAnnouncedAtTheNextAudit() {
    // A surplus of 10: 4 burned from the stream, 6 announced as a debt. The next audit counts the
    // debt in the adverts, so it starts from "no surplus left" (-10 + 4 + 6 = 0).
    assertThat(ReconcilerRules.nextPrevious(0, 4, 6, -10)).isZero();
    // Without an announcement the rule is the two-audit rule.
    assertThat(ReconcilerRules.nextPrevious(0, 4, 0, -10)).isZero();
    assertThat(ReconcilerRules.nextPrevious(0, 0, 0, -10)).isEqualTo(-10);
  }

  @Test
  void aDebtBeingAbsorbedStopsMintsOnlyWhileSomethingIsLeftToFinish() {
    // (debt, backlog, owed): messages to finish, or owed credits to mint, absorb the debt.
    assertThat(ReconcilerRules.absorbing(4, 10, 0)).isTrue();
    assertThat(ReconcilerRules.absorbing(4, 0, 8)).isTrue();
    // Nothing left to finish: no worker withholds anything, so a deficit read now is real, even
    // with tokens lying in the stream (an idle queue).
    assertThat(ReconcilerRules.absorbing(4, 0, 0)).isFalse();
    assertThat(ReconcilerRules.absorbing(0, 10, 10)).isFalse();
  }

  @Test
  void noMoreIsAnnouncedThanTheWorkersStillHaveToFinish() {
    // (backlog, owed, debt already pending)
    assertThat(ReconcilerRules.payable(100, 4, 0)).isEqualTo(104);
    assertThat(ReconcilerRules.payable(100, 4, 30)).isEqualTo(74);
    assertThat(ReconcilerRules.payable(10, 0, 30)).isZero();
    // An idle queue pays nothing: its surplus is fetched from the stream instead.
    assertThat(ReconcilerRules.payable(0, 0, 0)).isZero();
  }

  @Test
  void aViewWithoutTheReconcilersOwnFreshAdvertIsStale() {
    long now = 1_700_000_010_000L;
    assertThat(ReconcilerRules.staleView(null, now)).isTrue();
    dev.sluice.internal.proto.CapacityAdvert.Builder own =
        dev.sluice.internal.proto.CapacityAdvert.newBuilder().setWorkerId("w1").setTtlMs(1000);
    assertThat(ReconcilerRules.staleView(own.setHeartbeatUnixMs(now - 250).build(), now)).isFalse();
    assertThat(ReconcilerRules.staleView(own.setHeartbeatUnixMs(now - 750).build(), now)).isFalse();
    // Still live (ttl 1 s), but three heartbeats behind: the watch has stopped following.
    assertThat(ReconcilerRules.staleView(own.setHeartbeatUnixMs(now - 751).build(), now)).isTrue();
  }

  @Test
  void onlyASurplusBeyondOneTokenPerLiveProducerIsBurned() {
    assertThat(ReconcilerRules.burnable(40, 1, 32, 0, 0)).isEqualTo(8);
    assertThat(ReconcilerRules.burnable(32, 1, 32, 0, 0)).isZero();
    assertThat(ReconcilerRules.burnable(5, 0, 32, 0, 0)).isEqualTo(5);
    assertThat(ReconcilerRules.burnable(64, 3, 32, 0, 0)).isZero();
  }

  @Test
  void whatProducersHoldAndHaveNotReportedSpentIsNotBurned() {
    // 3 held tokens of 32 with 40 reported spent: 56 credits spent and not yet reported may lie in
    // them, beside the token per producer; burned, they would be credits that exist [v1.3].
    assertThat(ReconcilerRules.burnable(100, 1, 32, 3, 40)).isEqualTo(100 - 32 - 56);
    assertThat(ReconcilerRules.burnable(80, 1, 32, 3, 40)).isZero();
    // Held tokens fully reported spent add nothing: a real surplus still burns.
    assertThat(ReconcilerRules.burnable(100, 1, 32, 3, 96)).isEqualTo(68);
  }

  @Test
  void aLyingReportCountsForNoMoreThanTheTokensItsProducersHold() {
    // Honest: 5 spent of 2 held tokens of 32, 100 stored.
    assertThat(Credits.boundHeldSpent(5, 2, 32, 100)).isEqualTo(5);
    // A report claiming 1,000,000 with 2 tokens held counts for 64: unbounded, the reconciler
    // would read a deficit of about a million and mint it.
    assertThat(Credits.boundHeldSpent(1_000_000, 2, 32, 100)).isEqualTo(64);
    // Never more than what is stored: held tokens are part of T.
    assertThat(Credits.boundHeldSpent(1_000_000, 10, 32, 40)).isEqualTo(40);
    assertThat(Credits.boundHeldSpent(7, 0, 32, 100)).isZero();
  }

  @Test
  void advertsAreClampedPerWorkerAndInTotal() {
    QueueConfig qc = new QueueConfig(32, 8, 16, 40);
    long now = 1_000;
    var small = advert("a", 10, 0, now);
    var huge = advert("b", 1_000_000, 1_000_000, now);
    // Without the per-worker bound one forged advert would set the window alone.
    assertThat(Window.window(qc, java.util.List.of(small, huge), now)).isEqualTo(26);
    assertThat(Window.clampedCount(qc, java.util.List.of(small, huge), now)).isEqualTo(1);
    assertThat(Window.owed(qc, huge)).isEqualTo(16);
    // Without the total bound many adverts at the per-worker bound would still add up.
    assertThat(Window.window(qc, java.util.List.of(huge, huge, huge, huge), now)).isEqualTo(40);
    // The standing buffer (operator's) is a floor the bounds do not cut.
    assertThat(Window.window(new QueueConfig(32, 64, 16, 40), java.util.List.of(huge), now))
        .isEqualTo(64);
  }

  private static dev.sluice.internal.proto.CapacityAdvert advert(
      String id, int capacity, int owed, long now) {
    return dev.sluice.internal.proto.CapacityAdvert.newBuilder()
        .setWorkerId(id)
        .setCapacity(capacity)
        .setOwedCredits(owed)
        .setState(dev.sluice.internal.proto.WorkerState.WORKER_STATE_RUNNING)
        .setHeartbeatUnixMs(now)
        .setTtlMs(6000)
        .build();
  }
}
