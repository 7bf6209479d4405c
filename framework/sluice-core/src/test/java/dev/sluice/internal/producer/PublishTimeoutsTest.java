package dev.sluice.internal.producer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The one sweeper that times out publishes, driven by a fake clock. Lost if wrong: a publish whose
 * PubAck never comes would hang its send (and hold its credit) forever, or one that is merely slow
 * would be failed early and retried while still in flight.
 */
class PublishTimeoutsTest {
  final FakeClock clock = new FakeClock();
  final PublishTimeouts timeouts = new PublishTimeouts(clock, Duration.ofSeconds(2));

  @Test
  void failsOnlyPublishesPastTheirDeadline() {
    CompletableFuture<String> early = timeouts.track(new CompletableFuture<>());
    clock.advance(Duration.ofSeconds(1));
    CompletableFuture<String> late = timeouts.track(new CompletableFuture<>());

    clock.advance(Duration.ofMillis(999));
    assertThat(timeouts.sweep()).isZero();
    assertThat(early).isNotDone();

    clock.advance(Duration.ofMillis(1));
    assertThat(timeouts.sweep()).isEqualTo(1);
    assertThat(early)
        .isCompletedExceptionally()
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(TimeoutException.class);
    assertThat(late).isNotDone();

    clock.advance(Duration.ofSeconds(1));
    assertThat(timeouts.sweep()).isEqualTo(1);
    assertThat(late).isCompletedExceptionally();
    assertThat(timeouts.tracked()).isZero();
  }

  @Test
  void completedPublishesAreForgottenWithoutBeingFailed() {
    CompletableFuture<String> acked = timeouts.track(new CompletableFuture<>());
    CompletableFuture<String> pending = timeouts.track(new CompletableFuture<>());
    acked.complete("ack");
    assertThat(timeouts.sweep()).isZero();
    assertThat(timeouts.tracked()).as("the acked head is dropped at once").isEqualTo(1);

    clock.advance(Duration.ofSeconds(2));
    assertThat(timeouts.sweep()).isEqualTo(1);
    assertThat(acked.join()).isEqualTo("ack");
    assertThat(pending).isCompletedExceptionally();
  }

  @Test
  void alreadyCompletedFuturesAreNotTracked() {
    timeouts.track(CompletableFuture.completedFuture("ack"));
    assertThat(timeouts.tracked()).isZero();
  }

  @Test
  void sweepPeriodIsATwentiethOfTheTimeoutWithinBounds() {
    assertThat(timeouts.period()).isEqualTo(Duration.ofMillis(100));
    assertThat(new PublishTimeouts(clock, Duration.ofSeconds(60)).period())
        .isEqualTo(Duration.ofMillis(250));
    assertThat(new PublishTimeouts(clock, Duration.ofMillis(50)).period())
        .isEqualTo(Duration.ofMillis(10));
  }
}
