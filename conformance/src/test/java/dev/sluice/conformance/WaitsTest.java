package dev.sluice.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The runner's replacement for settle sleeps: it returns as soon as the condition holds. */
class WaitsTest {
  @Test
  void returnsTrueOnceTheConditionHolds() {
    AtomicInteger polls = new AtomicInteger();

    boolean ok = Waits.until(() -> polls.incrementAndGet() >= 3, Duration.ofSeconds(10), "three");

    // If it returned before the condition held, scenarios would check a state still settling.
    assertThat(ok).isTrue();
    assertThat(polls.get()).isEqualTo(3);
  }

  @Test
  void aConditionThatThrowsIsNotYetTrue() {
    AtomicInteger polls = new AtomicInteger();

    boolean ok =
        Waits.until(
            () -> {
              if (polls.incrementAndGet() < 2) {
                throw new IllegalStateException("stream not there yet");
              }
              return true;
            },
            Duration.ofSeconds(10),
            "a stream");

    // A read that fails while the server is between states must not abort the scenario.
    assertThat(ok).isTrue();
    assertThat(polls.get()).isEqualTo(2);
  }

  @Test
  void returnsFalseAfterTheTimeout() {
    // A condition that never holds must end the wait, so the check after it can report the state.
    assertThat(Waits.until(() -> false, Duration.ofMillis(100), "never")).isFalse();
  }
}
