package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one capacity formula (protocol §5.2). */
class CapacityTest {
  @Test
  void staticCapacityIsConcurrencyPlusPrefetchWhateverTheRate() {
    Capacity c = new Capacity(8, 4, null, 0);
    assertThat(c.of(0, 0)).isEqualTo(12);
    assertThat(c.of(5_000, 64)).isEqualTo(12);
    assertThat(c.followsRate()).isFalse();
  }

  @Test
  void latencyTargetFollowsLittlesLawWithinItsBounds() {
    Capacity c = new Capacity(4, 4, Duration.ofMillis(500), 1_000);
    // 200 msg/s × 0.5 s = 100 waiting, plus the 4 running, plus 8 in transit.
    assertThat(c.of(200, 8)).isEqualTo(112);
    assertThat(c.of(200, 0)).isEqualTo(104);
    // Never under the handlers' own concurrency, never over the cap.
    assertThat(c.of(0, 0)).isEqualTo(4);
    assertThat(c.of(1_000_000, 8)).isEqualTo(1_000);
    // A fraction of a message still counts as one: an idle rate of 0.1/s keeps one slot.
    assertThat(c.of(0.1, 0)).isEqualTo(5);
  }
}
