package dev.sluice.internal.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailureLogTest {
  private final FakeClock clock = new FakeClock();
  private final FailureLog log = new FailureLog(clock);

  @Test
  void theFirstOfAKindIsAWarningAndRepeatsWithinAMinuteAreCounted() {
    assertThat(log.admit("IllegalStateException@orders.Order")).isZero();
    assertThat(log.admit("IllegalStateException@orders.Order")).isEqualTo(-1);
    assertThat(log.admit("IllegalStateException@orders.Order")).isEqualTo(-1);
    // Another kind is not held back by the first.
    assertThat(log.admit("TimeoutException@orders.Order")).isZero();

    clock.advance(FailureLog.WINDOW.minusMillis(1));
    assertThat(log.admit("IllegalStateException@orders.Order")).isEqualTo(-1);
    clock.advance(Duration.ofMillis(1));
    // A minute later: a warning again, saying how many were logged at DEBUG meanwhile.
    assertThat(log.admit("IllegalStateException@orders.Order")).isEqualTo(3);
    assertThat(log.admit("IllegalStateException@orders.Order")).isEqualTo(-1);
  }
}
