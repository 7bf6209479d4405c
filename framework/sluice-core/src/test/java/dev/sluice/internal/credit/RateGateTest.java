package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The per-worker bucket of §15.2 on an injected clock (nanoseconds passed in). */
class RateGateTest {
  private static final long MS = 1_000_000L;

  @Test
  void offLetsEverythingThrough() {
    RateGate gate = new RateGate();
    assertThat(gate.on()).isFalse();
    assertThat(gate.allow(1_000_000, 0)).isEqualTo(1_000_000);
  }

  @Test
  void mintsAtItsShareWhenDemandExceedsIt() {
    RateGate gate = new RateGate();
    gate.configure(400, 50, 100, 0); // this worker's share: 100/s
    long minted = 0;
    // Rounds every 7 ms for 10 s, always 32 credits waiting.
    for (long t = 0; t <= 10_000; t += 7) {
      minted += gate.allow(32, t * MS);
    }
    assertThat(minted).isBetween(999L, 1003L); // 10 s at 100/s, plus the depth of 2
  }

  @Test
  void aLateRoundCatchesUpButNeverAboveTheShare() {
    RateGate gate = new RateGate();
    gate.configure(100, 20, 100, 0);
    assertThat(gate.allow(100, 0)).isEqualTo(2); // the depth
    assertThat(gate.allow(100, 500 * MS)).isEqualTo(50); // 500 ms late: what it waited for
    assertThat(gate.held()).isEqualTo(50);
  }

  @Test
  void anIdleWorkerDoesNotSaveUpBeyondItsDepth() {
    RateGate gate = new RateGate();
    gate.configure(500, 50, 500, 0);
    assertThat(gate.allow(1, 0)).isEqualTo(1);
    assertThat(gate.allow(1000, 60_000 * MS)).isEqualTo(10); // depth: 20 ms of 500/s
  }

  @Test
  void removingTheRateReleasesEverything() {
    RateGate gate = new RateGate();
    gate.configure(10, 5, 10, 0);
    assertThat(gate.allow(100, 0)).isEqualTo(1);
    gate.configure(0, 0, 0, MS);
    assertThat(gate.on()).isFalse();
    assertThat(gate.allow(99, 2 * MS)).isEqualTo(99);
  }

  @Test
  void theShareFollowsTheSourceWhileARateIsSet() {
    double[] share = {100};
    RateGate gate = new RateGate(rate -> share[0]);
    gate.configure(400, 50, 0);
    assertThat(gate.share()).isEqualTo(100);
    share[0] = 200; // another worker left
    gate.allow(0, 200 * MS);
    assertThat(gate.share()).isEqualTo(200);
  }

  @Test
  void invalidRatesSayWhy() {
    assertThat(Rates.invalid(0, 10)).contains("above 0");
    assertThat(Rates.invalid(-5, 10)).contains("above 0");
    assertThat(Rates.invalid(Double.NaN, 10)).contains("finite");
    assertThat(Rates.invalid(Double.POSITIVE_INFINITY, 10)).contains("finite");
    assertThat(Rates.invalid(100, 0)).contains("burst must be at least 1");
    assertThat(Rates.invalid(100, 1)).isNull();
  }
}
