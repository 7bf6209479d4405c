package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The public read model of a queue, used as an operator's tool or a console would use it. */
class QueueInspectionTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration AUDIT = Duration.ofMillis(300);
  static final Duration WAIT = Duration.ofSeconds(20);

  static Worker.Builder worker(Sluice sluice, String q, String id, Handler<String> h) {
    return sluice
        .worker(q)
        .workerId(id)
        .handle(JOB, h)
        .concurrency(2)
        .prefetch(2)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(AUDIT);
  }

  @Test
  void inspectShowsTheCreditTermsTheWorkersAdvertTheProducersReportAndTheAudit() throws Exception {
    String q = NATS.uniqueName("q");
    CountDownLatch release = new CountDownLatch(1);
    try (Connection nc = NATS.server().connect();
        Connection pc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).hardLimit(1000).build());
      try (Worker w =
              worker(
                      sluice,
                      q,
                      "w-1",
                      (s, ctx) -> release.await(WAIT.toSeconds(), TimeUnit.SECONDS))
                  .start();
          QueueProducer p =
              Sluice.using(pc)
                  .producer(q)
                  .producerId("p-1")
                  .reportInterval(Duration.ofMillis(200))
                  .acquireTimeout(WAIT)
                  .build()) {
        for (int i = 0; i < 3; i++) {
          p.send(OutgoingMessage.of(JOB, "m" + i));
        }
        // Three messages held by blocked handlers: B = 3 with 4 credits of window. The reconciler
        // keeps B + T - S + O = W, so a correct reading balances once the audits have settled.
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  assertThat(in.queue()).isEqualTo(q);
                  assertThat(in.backlog()).isEqualTo(3);
                  assertThat(in.window()).isEqualTo(4);
                  // The worker holds all three (capacity 4: two handling, one prefetched).
                  assertThat(in.workerConsumer())
                      .hasValueSatisfying(c -> assertThat(c.inFlight()).isEqualTo(3));
                  assertThat(in.deficit()).as("W - (B + T - S + O)").isZero();
                  assertThat(in.producers())
                      .singleElement()
                      .satisfies(
                          r -> {
                            assertThat(r.producerId()).isEqualTo("p-1");
                            assertThat(r.live()).isTrue();
                            assertThat(r.sentTotal()).isEqualTo(3);
                            assertThat(r.language()).isEqualTo("java");
                          });
                  assertThat(in.reconciler())
                      .hasValueSatisfying(
                          lease -> {
                            assertThat(lease.holder()).isEqualTo("w-1");
                            assertThat(lease.lastAudit())
                                .hasValueSatisfying(
                                    a -> {
                                      assertThat(a.window()).isEqualTo(4);
                                      assertThat(a.liveWorkers()).isEqualTo(1);
                                    });
                          });
                });
        QueueInspection in = sluice.inspect(q);
        // A wrong reading of any advert field would show the operator a different worker.
        assertThat(in.workers())
            .singleElement()
            .satisfies(
                a -> {
                  assertThat(a.workerId()).isEqualTo("w-1");
                  assertThat(a.queue()).isEqualTo(q);
                  assertThat(a.live()).isTrue();
                  assertThat(a.state()).isEqualTo(WorkerAdvert.State.RUNNING);
                  assertThat(a.capacity()).isEqualTo(4);
                  assertThat(a.language()).isEqualTo("java");
                  assertThat(a.protocolVersion()).isEqualTo(Sluice.PROTOCOL_VERSION);
                  assertThat(a.handled())
                      .containsExactly(new WorkerAdvert.HandledType(Queues.TYPE, 1, 1));
                  assertThat(a.handles(1, Queues.TYPE, 1)).isTrue();
                  assertThat(a.handles(1, Queues.TYPE, 2)).isFalse();
                  assertThat(a.ttl()).isEqualTo(Duration.ofMillis(1000));
                  // The queue's batch is 4, but a worker mints at most half its capacity at once.
                  assertThat(a.tokenBatch()).isEqualTo(2);
                });
        assertThat(in.liveWorkers()).hasSize(1);
        assertThat(in.liveWorkersIn(WorkerAdvert.State.RUNNING)).isEqualTo(1);
        assertThat(in.tokenBatch()).isEqualTo(OptionalInt.of(4));
        assertThat(in.hardLimit()).isEqualTo(1000);
        assertThat(in.deadLetters()).isEqualTo(OptionalLong.of(0));
        assertThat(in.oldestStoredAt()).isPresent();
        assertThat(in.atHardLimit()).isFalse();

        release.countDown();
        // Once the handlers finish, the backlog drains and the advert counts what it completed.
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> {
                  QueueInspection done = sluice.inspect(q);
                  assertThat(done.backlog()).isZero();
                  assertThat(done.oldestStoredAt()).isEmpty();
                  assertThat(done.workers().get(0).completedTotal()).isEqualTo(3);
                });
      }
      // A closed worker withdraws its advert: no live worker, window back to the standing buffer.
      await()
          .atMost(WAIT)
          .untilAsserted(() -> assertThat(sluice.inspect(q).liveWorkers()).isEmpty());
      assertThat(sluice.queues()).contains(q);
    } finally {
      release.countDown();
    }
  }

  @Test
  void advertRewrittenWhileTheKeysAreReadIsListedOnce() throws Exception {
    // Regression: the bucket's key listing returned a key again when a heartbeat rewrote it during
    // the listing, and the inspection showed the same worker twice (and the CLI counted it twice);
    // or missed it, and a live worker read as gone.
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      try (Worker w =
          sluice
              .worker(q)
              .workerId("fast-heartbeat")
              .handle(JOB, (s, ctx) -> {})
              .heartbeat(Duration.ofMillis(5))
              .advertTtl(Duration.ofMillis(1000))
              .start()) {
        await().atMost(WAIT).until(() -> !sluice.inspect(q).workers().isEmpty());
        for (int i = 0; i < 200; i++) {
          assertThat(sluice.inspect(q).workers())
              .as("reading %d", i)
              .extracting(WorkerAdvert::workerId)
              .containsExactly("fast-heartbeat");
        }
      }
    }
  }

  @Test
  void missingQueueIsReportedByNameWithHowToCreateIt() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      // Without this error a typo in a queue name would read as an empty, healthy queue.
      assertThatThrownBy(() -> sluice.inspect("no-such-queue"))
          .isInstanceOfSatisfying(
              QueueNotFoundException.class, e -> assertThat(e.queue()).isEqualTo("no-such-queue"))
          .hasMessageContaining("'no-such-queue' not found")
          .hasMessageContaining("SLUICE_Q_no-such-queue")
          .hasMessageContaining("Sluice.provision");
      assertThatThrownBy(() -> sluice.peek("no-such-queue", 0, 1))
          .isInstanceOf(QueueNotFoundException.class);
      assertThatThrownBy(() -> sluice.inspect("bad.name"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bad.name");
    }
  }

  @Test
  void peekShowsStoredMessagesWithTheirHeadersWithoutConsumingThem() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(3).tokenBatch(4).build());
      // Provisioning minted the standing buffer: tokens worth 3 credits, each saying so.
      List<CreditToken> minted = sluice.creditTokens(q, 10);
      assertThat(minted)
          .isNotEmpty()
          .allSatisfy(
              t -> {
                assertThat(t.reason()).isEqualTo(CreditToken.Reason.BOOTSTRAP);
                assertThat(t.mintedBy()).isEqualTo("provision");
                assertThat(Long.bitCount(t.credits())).as("a power of two").isEqualTo(1);
              });
      assertThat(minted.stream().mapToLong(CreditToken::credits).sum()).isEqualTo(3);
      List<SendResult> sent = new ArrayList<>();
      try (QueueProducer p = sluice.producer(q).acquireTimeout(WAIT).build()) {
        sent.add(p.send(OutgoingMessage.of(JOB, "first")));
        sent.add(p.send(OutgoingMessage.of(JOB, "second")));
      }
      List<StoredMessage> seen = sluice.peek(q, 0, 10);
      assertThat(seen)
          .extracting(StoredMessage::sequence)
          .containsExactly(sent.get(0).streamSequence(), sent.get(1).streamSequence());
      assertThat(seen.get(0).header(SluiceHeaders.MSG_ID)).hasValue(sent.get(0).messageId());
      assertThat(seen.get(0).header(SluiceHeaders.TYPE)).hasValue(Queues.TYPE);
      assertThat(seen.get(0).header(SluiceHeaders.TYPE_VERSION)).hasValue("1");
      assertThat(new String(seen.get(1).data(), StandardCharsets.UTF_8)).isEqualTo("second");
      assertThat(sluice.peek(q, sent.get(1).streamSequence(), 10)).hasSize(1);
      // Peeking consumed nothing: both messages are still stored.
      assertThat(sluice.inspect(q).backlog()).isEqualTo(2);
    }
  }

  @Test
  void deadLettersAreListedReplayedToTheirQueueAndPurged() throws Exception {
    String q = NATS.uniqueName("q");
    AtomicBoolean fixed = new AtomicBoolean();
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      DeadLetterQueue dlq = sluice.deadLetters();
      assertThat(dlq.exists()).isTrue();
      try (Worker w =
              worker(
                      sluice,
                      q,
                      "w-dlq",
                      (s, ctx) -> {
                        if (!fixed.get()) {
                          throw new RejectMessageException("bad " + s);
                        }
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(WAIT).build()) {
        SendResult a = p.send(OutgoingMessage.of(JOB, "a"));
        p.send(OutgoingMessage.of(JOB, "b"));
        await().atMost(WAIT).until(() -> dlq.count(q) == 2);
        assertThat(sluice.inspect(q).deadLetters()).isEqualTo(OptionalLong.of(2));

        List<DeadLetterRecord> records = dlq.list(q, 10);
        assertThat(records).hasSize(2);
        assertThat(records).extracting(DeadLetterRecord::sequence).isSorted();
        // Two handlers run at once, so either message may have been dead-lettered first.
        DeadLetterRecord first =
            records.stream()
                .filter(r -> r.originalMessageId().equals(Optional.of(a.messageId())))
                .findFirst()
                .orElseThrow();
        assertThat(first.queue()).isEqualTo(q);
        assertThat(first.reason()).hasValue(DeadLetterReason.REJECTED);
        assertThat(first.reasonCode()).hasValue("rejected");
        assertThat(first.error()).hasValueSatisfying(e -> assertThat(e).contains("bad a"));
        assertThat(first.originalMessageId()).hasValue(a.messageId());
        assertThat(first.attempts()).isEqualTo(OptionalLong.of(1));
        assertThat(first.workerId()).hasValue("w-dlq");
        assertThat(first.streamSequence()).isEqualTo(OptionalLong.of(a.streamSequence()));
        assertThat(first.type()).hasValue(Queues.TYPE);
        assertThat(first.typeVersion()).isEqualTo(OptionalInt.of(1));
        assertThat(first.deadLetteredAt()).isPresent();
        assertThat(dlq.get(first.sequence())).hasValue(first);
        assertThat(dlq.list(Optional.of(q), Optional.of(DeadLetterReason.MAX_ATTEMPTS), 10))
            .isEmpty();

        // Replay once the cause is fixed: the record goes back to the queue and leaves the DLQ.
        fixed.set(true);
        ReplayResult r = dlq.replay(first);
        assertThat(r.queue()).isEqualTo(q);
        assertThat(r.replayMessageId()).isEqualTo("replay." + first.sequence());
        assertThat(r.duplicate()).isFalse();
        assertThat(r.workSequence()).isGreaterThan(a.streamSequence());
        assertThat(dlq.get(first.sequence())).isEmpty();
        await().atMost(WAIT).untilAsserted(() -> assertThat(sluice.inspect(q).backlog()).isZero());
        assertThat(dlq.count(q)).isEqualTo(1);

        assertThat(dlq.purge(q)).isEqualTo(1);
        assertThat(dlq.count(q)).isZero();
      }
    }
  }
}
