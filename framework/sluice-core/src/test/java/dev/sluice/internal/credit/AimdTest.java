package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The AIMD rule of protocol §15.1 on an injected clock (milliseconds passed in). */
class AimdTest {
  private final Aimd aimd = new Aimd(0.5, 1, 1000, 1000);

  @Test
  void halvesOnPushbackAndCountsABurstOnce() {
    assertThat(aimd.pushback(16, 0)).isTrue();
    assertThat(aimd.capacity(16)).isEqualTo(8);
    // More pushbacks from messages already in hand within the decrease interval: no change.
    assertThat(aimd.pushback(16, 10)).isFalse();
    assertThat(aimd.pushback(16, 999)).isFalse();
    assertThat(aimd.capacity(16)).isEqualTo(8);
    assertThat(aimd.pushback(16, 1000)).isTrue();
    assertThat(aimd.capacity(16)).isEqualTo(4);
    assertThat(aimd.decreases()).isEqualTo(2);
  }

  @Test
  void neverBelowTheFloor() {
    Aimd a = new Aimd(0.5, 2, 1, 1000);
    for (int t = 0; t < 100; t += 10) {
      a.pushback(16, t);
    }
    assertThat(a.capacity(16)).isEqualTo(2);
  }

  @Test
  void raisesByOnePerIntervalWithSuccessesAndNoPushback() {
    aimd.pushback(4, 0); // 2
    aimd.succeeded();
    aimd.tick(4, 999, false);
    assertThat(aimd.capacity(4)).isEqualTo(2);
    aimd.tick(4, 1000, false);
    assertThat(aimd.capacity(4)).isEqualTo(3);
    // No success in the next interval: no increase.
    aimd.tick(4, 2000, false);
    assertThat(aimd.capacity(4)).isEqualTo(3);
    aimd.succeeded();
    aimd.tick(4, 3000, false);
    assertThat(aimd.lowered()).isFalse();
    assertThat(aimd.capacity(4)).isEqualTo(4);
    assertThat(aimd.loweredSinceMs()).isZero();
  }

  @Test
  void aPushbackInTheIntervalBlocksTheIncrease() {
    aimd.pushback(8, 0); // 4
    aimd.succeeded();
    aimd.pushback(8, 500); // within the decrease interval: no decrease, but no increase either
    aimd.tick(8, 1000, false);
    assertThat(aimd.capacity(8)).isEqualTo(4);
  }

  @Test
  void anIdleWorkerRecoversToo() {
    aimd.pushback(4, 0); // 2
    aimd.tick(4, 1000, true);
    aimd.tick(4, 2000, true);
    assertThat(aimd.lowered()).isFalse();
  }

  @Test
  void aNominalCapacityBelowTheLimitWins() {
    aimd.pushback(16, 0); // 8
    assertThat(aimd.capacity(6)).isEqualTo(6);
    aimd.tick(6, 10, false);
    assertThat(aimd.lowered()).isFalse();
  }

  @Test
  void tracksWhenTheLoweredSpellBegan() {
    aimd.pushback(16, 5000);
    aimd.pushback(16, 7000);
    assertThat(aimd.loweredSinceMs()).isEqualTo(5000);
  }
}
