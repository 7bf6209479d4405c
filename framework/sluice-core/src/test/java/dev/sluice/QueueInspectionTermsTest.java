package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The credit terms a {@link QueueInspection} derives from what it read (pure arithmetic). */
class QueueInspectionTermsTest {
  static final Instant NOW = Instant.ofEpochMilli(1_000_000);

  static WorkerAdvert worker(String id, WorkerAdvert.State state, long owed, boolean live) {
    return new WorkerAdvert(
        id,
        "q",
        "java",
        1,
        state,
        8,
        0,
        2.5,
        List.of(),
        NOW,
        Duration.ofSeconds(1),
        owed,
        0,
        0,
        4,
        live);
  }

  static ProducerReport producer(String id, long spent, long unspent, long waiting, boolean live) {
    return new ProducerReport(
        id, "q", "java", spent, unspent, waiting, 0, NOW, Duration.ofSeconds(1), live);
  }

  static QueueInspection inspection(
      long backlog, long tokens, long window, List<WorkerAdvert> w, List<ProducerReport> p) {
    return new QueueInspection(
        "q",
        NOW,
        backlog,
        100,
        1,
        Optional.of(NOW.minusMillis(250)),
        Optional.empty(),
        0,
        OptionalInt.empty(),
        tokens,
        window,
        w,
        p,
        Optional.empty(),
        OptionalLong.empty(),
        new AdvertBounds(10_000, 10_000, 0));
  }

  @Test
  void deficitCountsOnlyLiveWorkersAndProducers() {
    // W = 16, B = 5, T = 9 of which live producers hold 3 spent, live workers owe 2: 5+9-3+2 = 13.
    // The stale worker's owed credits and the stale producer's held ones must not count, or the
    // operator would see a deficit the reconciler does not (it ignores stale adverts too).
    QueueInspection in =
        inspection(
            5,
            9,
            16,
            List.of(
                worker("a", WorkerAdvert.State.RUNNING, 2, true),
                worker("b", WorkerAdvert.State.CIRCUIT_OPEN, 0, true),
                worker("gone", WorkerAdvert.State.RUNNING, 7, false)),
            List.of(producer("p", 3, 1, 2, true), producer("old", 4, 4, 9, false)));
    assertThat(in.owed()).isEqualTo(2);
    assertThat(in.heldSpent()).isEqualTo(3);
    assertThat(in.heldUnspent()).isEqualTo(1);
    assertThat(in.waiting()).isEqualTo(2);
    assertThat(in.circulating()).isEqualTo(13);
    assertThat(in.deficit()).isEqualTo(3);
    assertThat(in.creditsAvailable()).isEqualTo(5);
    assertThat(in.liveWorkers()).extracting(WorkerAdvert::workerId).containsExactly("a", "b");
    assertThat(in.liveWorkersIn(WorkerAdvert.State.CIRCUIT_OPEN)).isEqualTo(1);
    assertThat(in.serviceRate()).isEqualTo(5.0);
    assertThat(in.oldestAge()).hasValue(Duration.ofMillis(250));
  }

  @Test
  void aDebtTheWorkersStillWithholdIsOutOfCirculation() {
    // The reconciler read a surplus of 6 held by a producer and announced it as a debt: the two
    // live workers withhold 4 and 2 from their next mints. W = 16, B = 0 (no load), T = 22 held
    // by the producer, nothing owed: 0 + 22 - 0 + 0 - 6 = 16, balanced. Counting the debt as
    // circulating would read a surplus of 6 for as long as no message flows, though the reconciler
    // (which subtracts it, §5.5) has nothing left to do.
    QueueInspection in =
        inspection(
            0,
            22,
            16,
            List.of(
                withDebt(worker("a", WorkerAdvert.State.RUNNING, 0, true), 4),
                withDebt(worker("b", WorkerAdvert.State.RUNNING, 0, true), 2),
                withDebt(worker("gone", WorkerAdvert.State.RUNNING, 0, false), 9)),
            List.of(producer("p", 0, 22, 0, true)));
    assertThat(in.debt()).as("only live adverts' debt counts").isEqualTo(6);
    assertThat(in.circulating()).isEqualTo(16);
    assertThat(in.deficit()).isZero();
  }

  static WorkerAdvert withDebt(WorkerAdvert a, long debt) {
    return new WorkerAdvert(
        a.workerId(),
        a.queue(),
        a.language(),
        a.protocolVersion(),
        a.state(),
        a.capacity(),
        a.inFlight(),
        a.serviceRate(),
        a.handled(),
        a.heartbeatAt(),
        a.ttl(),
        a.owedCredits(),
        a.completedTotal(),
        a.mintedTotal(),
        a.tokenBatch(),
        debt,
        a.live());
  }

  @Test
  void creditsAvailableNeverGoesNegative() {
    // Producers can report more held credits than the stream stores for a moment (a token being
    // acked): "available" is what a producer could take, so it is at least 0.
    QueueInspection in = inspection(0, 2, 4, List.of(), List.of(producer("p", 1, 3, 0, true)));
    assertThat(in.creditsAvailable()).isZero();
  }

  @Test
  void tokenBatchFallsBackToTheDefaultOnlyWhenTheSettingsGiveNone() {
    QueueInspection none = inspection(0, 0, 0, List.of(), List.of());
    assertThat(none.tokenBatch()).isEmpty();
    assertThat(none.effectiveTokenBatch()).isEqualTo(32);
    QueueInspection set =
        new QueueInspection(
            "q",
            NOW,
            0,
            -1,
            0,
            Optional.empty(),
            Optional.empty(),
            0,
            OptionalInt.of(8),
            0,
            0,
            List.of(),
            List.of(),
            Optional.empty(),
            OptionalLong.empty(),
            new AdvertBounds(10_000, 10_000, 0));
    assertThat(set.effectiveTokenBatch()).isEqualTo(8);
    assertThat(set.atHardLimit()).as("-1 is unlimited").isFalse();
  }

  @Test
  void advertHandlesOnlyCoveredVersionsOfItsProtocol() {
    WorkerAdvert a =
        new WorkerAdvert(
            "w",
            "q",
            "go",
            1,
            WorkerAdvert.State.RUNNING,
            4,
            0,
            0,
            List.of(new WorkerAdvert.HandledType("t", 1, 3)),
            NOW,
            Duration.ofSeconds(1),
            0,
            0,
            0,
            4,
            true);
    assertThat(a.handles(1, "t", 1)).isTrue();
    assertThat(a.handles(1, "t", 3)).isTrue();
    assertThat(a.handles(1, "t", 4)).isFalse();
    assertThat(a.handles(1, "u", 2)).isFalse();
    assertThat(a.handles(2, "t", 2)).as("a newer protocol than the worker speaks").isFalse();
  }
}
