package dev.sluice.internal.producer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.CreditTimeoutException;
import dev.sluice.CreditTimeoutException.Reason;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.WorkerState;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The reason a send gives when no credit came (protocol §6.8). Each reason points the user to a
 * different fix, so a wrong one costs them time: these pin which reason each situation gives.
 */
class TimeoutReasonsTest {
  static final long NOW = 1_800_000_000_000L;
  static final Duration WAITED = Duration.ofSeconds(2);

  static CapacityAdvert advert(String id, int capacity, long heartbeat) {
    return CapacityAdvert.newBuilder()
        .setWorkerId(id)
        .setCapacity(capacity)
        .setState(
            capacity > 0 ? WorkerState.WORKER_STATE_RUNNING : WorkerState.WORKER_STATE_CIRCUIT_OPEN)
        .setHeartbeatUnixMs(heartbeat)
        .setTtlMs(6000)
        .build();
  }

  @Test
  void noAdvertAndNoStandingBufferMeansNoLiveWorkers() {
    CreditTimeoutException e = TimeoutReasons.explain("orders", WAITED, false, 0, List.of(), NOW);
    assertThat(e.reason()).isEqualTo(Reason.NO_LIVE_WORKERS);
    assertThat(e)
        .hasMessage(
            "no credit for queue orders within PT2S: no live workers advertise capacity for queue"
                + " orders and it has no standing buffer. Start a worker for the queue (or"
                + " provision a standing buffer).");
  }

  @Test
  void anExpiredAdvertCountsAsNoWorkerAndTheStandingBufferIsNamed() {
    CreditTimeoutException e =
        TimeoutReasons.explain(
            "orders", WAITED, false, 16, List.of(advert("w1", 8, NOW - 6001)), NOW);
    assertThat(e.reason()).isEqualTo(Reason.NO_LIVE_WORKERS);
    assertThat(e).hasMessageContaining("its standing buffer of 16 is in use");
  }

  @Test
  void liveWorkersWithoutCapacityAreNamedAsSuch() {
    CreditTimeoutException e =
        TimeoutReasons.explain("orders", WAITED, false, 0, List.of(advert("w1", 0, NOW)), NOW);
    assertThat(e.reason()).isEqualTo(Reason.NO_LIVE_WORKERS);
    assertThat(e).hasMessageContaining("1 worker(s) are live but none advertises capacity");
  }

  @Test
  void aLiveWindowMeansAllCreditsInUse() {
    CreditTimeoutException e =
        TimeoutReasons.explain(
            "orders", WAITED, false, 0, List.of(advert("w1", 8, NOW), advert("w2", 4, NOW)), NOW);
    assertThat(e.reason()).isEqualTo(Reason.ALL_CREDITS_IN_USE);
    assertThat(e).hasMessageContaining("all 12 credits of the window (2 live worker(s))");
  }

  @Test
  void theHardLimitWinsOverEveryOtherReason() {
    CreditTimeoutException e =
        TimeoutReasons.explain("orders", WAITED, true, 0, List.of(advert("w1", 8, NOW)), NOW);
    assertThat(e.reason()).isEqualTo(Reason.STREAM_AT_HARD_LIMIT);
    assertThat(TimeoutReasons.stayedAtHardLimit("orders").reason())
        .isEqualTo(Reason.STREAM_AT_HARD_LIMIT);
  }
}
