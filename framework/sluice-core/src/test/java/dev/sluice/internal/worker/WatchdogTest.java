package dev.sluice.internal.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The watchdog's sweep on a fake clock: AckProgress cadence and the handler timeout. */
class WatchdogTest {
  private final FakeClock clock = new FakeClock();
  private final Watchdog watchdog =
      new Watchdog(clock, Duration.ofSeconds(30), Duration.ofSeconds(60));
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicBoolean interrupted = new AtomicBoolean();
  private final Thread handler =
      new Thread(
          () -> {
            try {
              release.await();
            } catch (InterruptedException e) {
              interrupted.set(true);
            }
          });

  @AfterEach
  void stopHandler() {
    release.countDown();
  }

  @Test
  void sendsProgressEveryThirdOfTheAckWaitWhileTheHandlerRuns() {
    AtomicInteger progress = new AtomicInteger();
    Watchdog.Running r = watchdog.watch(progress::incrementAndGet, handler);

    clock.advance(Duration.ofSeconds(9));
    watchdog.sweep();
    // Without this, a handler longer than the ack wait is redelivered while it still runs.
    assertThat(progress).hasValue(0);
    clock.advance(Duration.ofSeconds(1));
    watchdog.sweep();
    assertThat(progress).hasValue(1);
    clock.advance(Duration.ofSeconds(5));
    watchdog.sweep();
    assertThat(progress).as("not again before another 10 s").hasValue(1);
    clock.advance(Duration.ofSeconds(5));
    watchdog.sweep();
    assertThat(progress).hasValue(2);

    watchdog.done(r);
    clock.advance(Duration.ofSeconds(20));
    watchdog.sweep();
    // A finished handler's message is acked already: progress on it would be a protocol error.
    assertThat(progress).hasValue(2);
    assertThat(watchdog.size()).isZero();
  }

  @Test
  void interruptsAHandlerPastItsTimeoutOnce() {
    handler.start();
    Watchdog.Running r = watchdog.watch(() -> {}, handler);

    clock.advance(Duration.ofSeconds(59));
    watchdog.sweep();
    assertThat(r.timedOut()).isFalse();
    clock.advance(Duration.ofSeconds(1));
    watchdog.sweep();
    // Without the interrupt a hung handler holds its slot (and its message) forever.
    assertThat(r.timedOut()).isTrue();
    await().atMost(Duration.ofSeconds(5)).untilTrue(interrupted);
  }

  @Test
  void neverInterruptsAHandlerThatFinished() {
    handler.start();
    Watchdog.Running r = watchdog.watch(() -> {}, handler);
    watchdog.done(r);
    clock.advance(Duration.ofMinutes(5));
    watchdog.sweep();
    // An interrupt after done() would land in the next message's handler on the same thread.
    assertThat(r.timedOut()).isFalse();
    assertThat(handler.isInterrupted()).isFalse();
  }

  @Test
  void sweepsOftenEnoughForShortAckWaits() {
    assertThat(Watchdog.sweepInterval(Duration.ofSeconds(30))).isEqualTo(Duration.ofMillis(100));
    assertThat(Watchdog.sweepInterval(Duration.ofMillis(300))).isEqualTo(Duration.ofMillis(50));
    assertThat(Watchdog.sweepInterval(Duration.ofMillis(30))).isEqualTo(Duration.ofMillis(10));
  }
}
