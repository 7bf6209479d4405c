package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Worker outcomes end to end against a real server (protocol §7, §8, §9, §10). */
class WorkerOutcomesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static Worker.Builder worker(Sluice sluice, String q) {
    return sluice
        .worker(q)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(Duration.ofMillis(300));
  }

  static String provision(Connection nc, QueueSpec.Builder spec) {
    QueueSpec s = spec.build();
    Sluice.using(nc).provision(s);
    return s.queue();
  }

  @Test
  void retriedMessageWaitsTheBackoffBetweenAttempts() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      Backoff backoff =
          Backoff.exponential(Duration.ofMillis(300), 2.0, Duration.ofSeconds(5), 0.2);
      List<Long> attemptsAt = new CopyOnWriteArrayList<>();
      List<Long> attemptNumbers = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .backoff(backoff)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(5).build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    attemptsAt.add(System.nanoTime());
                    attemptNumbers.add(ctx.attempt());
                    if (ctx.attempt() < 4) {
                      throw new IllegalStateException("downstream busy");
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "retry-me".getBytes());
        await().atMost(Duration.ofSeconds(20)).until(() -> w.processedCount() == 1);
        assertThat(attemptNumbers).containsExactly(1L, 2L, 3L, 4L);
        assertThat(w.retriedCount()).isEqualTo(3);
        for (int k = 1; k <= 3; k++) {
          double gapMs = (attemptsAt.get(k) - attemptsAt.get(k - 1)) / 1e6;
          double lo = backoff.delayMillis(k, 0.0);
          double hi = backoff.delayMillis(k, 0.999999);
          // The server redelivers no earlier than the NAK delay; allow scheduling and pull slack
          // above.
          assertThat(gapMs).as("gap after attempt " + k).isBetween(lo - 5, hi + 600);
        }
      }
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void poisonMessageEndsAsExactlyOneDeadLetterAndOthersFlow() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      List<String> done = new CopyOnWriteArrayList<>();
      try (Worker w =
              worker(Sluice.using(nc), q)
                  .backoff(Backoff.fixed(Duration.ofMillis(50)))
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(3).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        if (s.equals("poison")) {
                          throw new IllegalArgumentException("cannot ship to the moon");
                        }
                        done.add(s);
                      })
                  .start();
          QueueProducer p = Sluice.using(nc).producer(q).build()) {
        p.send(OutgoingMessage.of(JOB, "a"));
        SendResult poison = p.send(OutgoingMessage.of(JOB, "poison"));
        p.send(OutgoingMessage.of(JOB, "b"));
        await()
            .atMost(Duration.ofSeconds(15))
            .until(() -> w.deadLetteredCount() == 1 && done.size() == 2);

        List<Message> dlq = Queues.deadLetters(nc, q);
        assertThat(dlq).hasSize(1);
        Message rec = dlq.get(0);
        assertThat(Queues.text(rec.getData())).isEqualTo("poison");
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_REASON)).isEqualTo("max-attempts");
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_ATTEMPTS)).isEqualTo("3");
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_ERROR))
            .contains("cannot ship to the moon");
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_MSG_ID)).isEqualTo(poison.messageId());
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_STREAM_SEQ))
            .isEqualTo(Long.toString(poison.streamSequence()));
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_WORKER)).isEqualTo(w.workerId());
        assertThat(rec.getHeaders().get("Nats-Expected-Stream")).isNull();
        assertThat(done).containsExactlyInAnyOrder("a", "b");
      }
      // The original left the work stream: nothing cycles on.
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void badInputEndsAsDeadLettersWithReasonsAndNeverBlocksTheQueue() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      Codec<Integer> strictInt =
          Codec.of(
              Queues.TYPE,
              1,
              "text/plain",
              i -> Integer.toString(i).getBytes(),
              b -> Integer.parseInt(new String(b, StandardCharsets.UTF_8)));
      AtomicInteger ok = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .maxPayloadBytes(100)
              .deadLetter(
                  DeadLetterPolicy.builder()
                      .grace(Duration.ofSeconds(1))
                      .graceNakDelay(Duration.ofMillis(200))
                      .build())
              .handle(strictInt, (i, ctx) -> ok.incrementAndGet())
              .start()) {
        Map<String, String> noType = Queues.goodHeaders(1);
        noType.remove(Protocol.H_TYPE);
        Map<String, String> badVersion = Queues.goodHeaders(1);
        badVersion.put(Protocol.H_TYPE_VERSION, "two");
        Map<String, String> noId = Queues.goodHeaders(1);
        noId.remove(Protocol.H_MSG_ID);
        long malformed = Queues.rawPublish(nc, q, Queues.goodHeaders(1), "not a number".getBytes());
        long missing = Queues.rawPublish(nc, q, noType, "1".getBytes());
        long badHeader = Queues.rawPublish(nc, q, badVersion, "1".getBytes());
        long unknownVersion = Queues.rawPublish(nc, q, Queues.goodHeaders(9), "1".getBytes());
        long oversize = Queues.rawPublish(nc, q, Queues.goodHeaders(1), new byte[200]);
        long withoutId = Queues.rawPublish(nc, q, noId, "1".getBytes());
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "42".getBytes());

        await().atMost(Duration.ofSeconds(20)).until(() -> w.deadLetteredCount() == 6);
        assertThat(ok.get()).isEqualTo(1);
        Map<Long, String> reasons = new ConcurrentHashMap<>();
        for (Message m : Queues.deadLetters(nc, q)) {
          reasons.put(
              Long.parseLong(m.getHeaders().getFirst(Protocol.H_DLQ_STREAM_SEQ)),
              m.getHeaders().getFirst(Protocol.H_DLQ_REASON));
        }
        assertThat(reasons)
            .containsExactlyInAnyOrderEntriesOf(
                Map.of(
                    malformed, "decode-error",
                    missing, "missing-header",
                    badHeader, "bad-header",
                    unknownVersion, "unsupported-version",
                    oversize, "oversize",
                    withoutId, "missing-header"));
      }
      assertThat(Queues.backlog(nc, q)).isZero(); // nothing lost in the work stream either
    }
  }

  @Test
  void handlerSlowerThanTwiceTheAckWaitIsNotRedelivered() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q =
          provision(nc, QueueSpec.builder(NATS.uniqueName("q")).ackWait(Duration.ofSeconds(1)));
      AtomicInteger runs = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .concurrency(2)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    runs.incrementAndGet();
                    Thread.sleep(2500); // 2.5 x the ack wait: AckProgress keeps it ours
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "slow".getBytes());
        await().atMost(Duration.ofSeconds(15)).until(() -> w.processedCount() == 1);
        assertThat(runs.get()).isEqualTo(1);
        assertThat(w.duplicateCount()).isZero();
        assertThat(
                nc.jetStreamManagement()
                    .getConsumerInfo(Protocol.workStream(q), Protocol.WORKER_CONSUMER)
                    .getRedelivered())
            .isZero();
      }
    }
  }

  @Test
  void traceContinuesFromProducerToHandlerToDeadLetter() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      Map<String, String> handlerTrace = new ConcurrentHashMap<>();
      try (Worker w =
              worker(Sluice.using(nc), q)
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        handlerTrace.put(s, ctx.traceId() + "/" + ctx.spanId());
                        if (s.equals("reject")) {
                          throw new RejectMessageException("refused");
                        }
                      })
                  .start();
          QueueProducer p = Sluice.using(nc).producer(q).build()) {
        TraceContext caller = TraceContext.newTrace();
        p.send(
            OutgoingMessage.builder(Queues.TYPE, 1, "ok".getBytes())
                .traceparent(caller.header())
                .build());
        SendResult rejected = p.send(OutgoingMessage.of(JOB, "reject"));
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> handlerTrace.size() == 2 && w.deadLetteredCount() == 1);

        assertThat(handlerTrace.get("ok")).startsWith(caller.traceId() + "/");
        assertThat(handlerTrace.get("ok"))
            .doesNotEndWith(caller.spanId()); // a child span of its own
        String sentTrace = TraceContext.parse(rejected.traceparent()).traceId();
        assertThat(handlerTrace.get("reject")).startsWith(sentTrace + "/");
        Message rec = Queues.deadLetters(nc, q).get(0);
        assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_REASON)).isEqualTo("rejected");
        assertThat(TraceContext.parse(rec.getHeaders().getFirst("traceparent")).traceId())
            .isEqualTo(sentTrace);
      }
    }
  }

  @Test
  void circuitOpensAdvertisesZeroCapacityAndRecovers() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      AtomicBoolean downstreamUp = new AtomicBoolean(false);
      AtomicInteger calls = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .concurrency(2)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(50).maxDeliveries(60).build())
              .backoff(Backoff.fixed(Duration.ofMillis(100)))
              .circuitBreaker(
                  CircuitBreakerPolicy.builder()
                      .failures(5)
                      .window(10)
                      .delay(Duration.ofSeconds(1))
                      .build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    calls.incrementAndGet();
                    if (!downstreamUp.get()) {
                      throw new IllegalStateException("downstream is down");
                    }
                  })
              .start()) {
        for (int i = 0; i < 20; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    w.health().state() == Health.State.CIRCUIT_OPEN && w.advertisedCapacity() == 0);
        assertThat(w.health().ready()).isFalse();
        // While open it only probes: about one handler call per breaker delay, not a retry storm.
        int before = calls.get();
        Thread.sleep(3000); // the observation window
        assertThat(calls.get() - before).isLessThanOrEqualTo(6);

        downstreamUp.set(true);
        await().atMost(Duration.ofSeconds(20)).until(() -> w.processedCount() == 20);
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
        assertThat(w.advertisedCapacity()).isPositive();
        assertThat(w.deadLetteredCount()).isZero();
      }
    }
  }

  @Test
  void deletedStreamGivesAClearErrorWithoutAHotLoop() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      try (Worker w = worker(Sluice.using(nc), q).handle(JOB, (s, ctx) -> {}).start()) {
        await().atMost(Duration.ofSeconds(5)).until(() -> w.health().ready());
        nc.jetStreamManagement().deleteStream(Protocol.workStream(q));

        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail()).contains("does not exist").contains("re-provision");
        assertThat(w.advertisedCapacity()).isZero();

        Sluice.using(nc).provision(QueueSpec.of(q));
        await().atMost(Duration.ofSeconds(10)).until(() -> w.health().ready());
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "after".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
      }
    }
  }

  @Test
  void workerStartOnAMissingQueueSaysToProvision() {
    try (Connection nc = NATS.server().connect()) {
      assertThatThrownBy(
              () -> Sluice.using(nc).worker("never-made").handle(JOB, (s, c) -> {}).start())
          .isInstanceOf(SluiceException.class)
          .hasMessageContaining("queue 'never-made' is not provisioned")
          .hasMessageContaining("Sluice.provision");
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void workerKilledMidHandlerIsRedeliveredAndItsEffectAppliedOnce() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q =
          provision(nc, QueueSpec.builder(NATS.uniqueName("q")).ackWait(Duration.ofSeconds(2)));
      Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
      Subscription started = nc.subscribe(q + ".started");
      Map<String, String> headers = Queues.goodHeaders(1);
      String id = headers.get(Protocol.H_MSG_ID);
      Queues.rawPublish(nc, q, headers, "charge-card".getBytes());

      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  ChildWorker.class.getName(),
                  NATS.server().url(),
                  q)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      try {
        Message m = started.nextMessage(Duration.ofSeconds(30));
        assertThat(m).as("the child worker took the message").isNotNull();
        assertThat(new String(m.getData(), StandardCharsets.UTF_8)).isEqualTo(id);
      } finally {
        new ProcessBuilder("kill", "-9", Long.toString(child.pid())).start().waitFor();
        child.waitFor(10, TimeUnit.SECONDS);
      }
      assertThat(child.isAlive()).isFalse();

      Handler<String> effect =
          (s, ctx) ->
              effects.computeIfAbsent(ctx.messageId(), k -> new AtomicInteger()).incrementAndGet();
      try (Worker w = worker(Sluice.using(nc), q).sharedIdempotency().handle(JOB, effect).start()) {
        // Redelivered after the ack wait; applied once.
        await().atMost(Duration.ofSeconds(15)).until(() -> w.processedCount() == 1);
      }
      assertThat(effects.get(id).get()).isEqualTo(1);

      // A server restart forgets publish de-duplication for messages no longer stored: the same id
      // published again is accepted. The shared store still knows it was processed.
      NATS.server().restart();
      await()
          .atMost(Duration.ofSeconds(15))
          .ignoreExceptions()
          .until(
              () -> {
                Queues.rawPublish(nc, q, headers, "charge-card".getBytes());
                return true;
              });
      try (Worker fresh =
          worker(Sluice.using(nc), q).sharedIdempotency().handle(JOB, effect).start()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> fresh.duplicateCount() == 1);
        assertThat(fresh.processedCount()).isZero();
      }
      // Were the shared store missing, the card would have been charged twice.
      assertThat(effects.get(id).get()).isEqualTo(1);
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void messageThatKeepsTimingOutIsDeadLetteredWithoutRunningTheHandler() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q =
          provision(nc, QueueSpec.builder(NATS.uniqueName("q")).ackWait(Duration.ofSeconds(1)));
      long seq = Queues.rawPublish(nc, q, Queues.goodHeaders(1), "hot-potato".getBytes());
      // Three deliveries that end in ack timeouts, as if three workers died mid-handler.
      var sub =
          nc.jetStream()
              .subscribe(
                  null,
                  io.nats.client.PullSubscribeOptions.bind(
                      Protocol.workStream(q), Protocol.WORKER_CONSUMER));
      for (int i = 1; i <= 3; i++) {
        List<Message> got = sub.fetch(1, Duration.ofSeconds(5));
        assertThat(got).hasSize(1);
        assertThat(got.get(0).metaData().deliveredCount()).isEqualTo(i);
      }
      sub.unsubscribe();
      AtomicInteger runs = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .deadLetter(
                  DeadLetterPolicy.builder()
                      .maxAttempts(1)
                      .maxDeliveries(3)
                      .grace(Duration.ZERO)
                      .graceNakDelay(Duration.ofSeconds(1))
                      .build())
              .handle(JOB, (s, ctx) -> runs.incrementAndGet())
              .start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> w.deadLetteredCount() == 1);
        assertThat(runs.get()).isZero();
      }
      Message rec = Queues.deadLetters(nc, q).get(0);
      assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_REASON)).isEqualTo("max-deliveries");
      assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_ATTEMPTS)).isEqualTo("4");
      assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_STREAM_SEQ))
          .isEqualTo(Long.toString(seq));
      // Without the rule it would sit in the work stream, taking a credit, forever.
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void shutdownNaksWhatOverrunsTheGraceAndWithdrawsTheAdvert() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      AtomicBoolean entered = new AtomicBoolean();
      Worker slow =
          worker(Sluice.using(nc), q)
              .workerId("slow")
              .shutdownGrace(Duration.ofMillis(300))
              .handle(
                  JOB,
                  (s, ctx) -> {
                    entered.set(true);
                    Thread.sleep(5000);
                  })
              .start();
      Queues.rawPublish(nc, q, Queues.goodHeaders(1), "long".getBytes());
      await().atMost(Duration.ofSeconds(10)).until(entered::get);

      slow.close();

      assertThat(nc.keyValue(Protocol.CAPACITY_BUCKET).get(Protocol.advertKey(q, "slow"))).isNull();
      assertThat(slow.health().state()).isEqualTo(Health.State.STOPPED);
      // NAKed at shutdown, so another worker takes it at once instead of after the ack wait.
      List<String> done = new CopyOnWriteArrayList<>();
      try (Worker next = worker(Sluice.using(nc), q).handle(JOB, (s, ctx) -> done.add(s)).start()) {
        await().atMost(Duration.ofSeconds(5)).until(() -> done.contains("long"));
      }
    }
  }

  @Test
  void versionNoOneHereHandlesIsLeftToTheWorkerThatDoes() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      Codec<String> v2 = Codec.utf8(Queues.TYPE, 2);
      List<String> oldSaw = new CopyOnWriteArrayList<>();
      List<String> newSaw = new CopyOnWriteArrayList<>();
      try (Worker old =
              worker(Sluice.using(nc), q)
                  .workerId("old")
                  .deadLetter(
                      DeadLetterPolicy.builder()
                          .grace(Duration.ofMillis(600))
                          .graceNakDelay(Duration.ofMillis(150))
                          .maxDeliveries(100)
                          .build())
                  .handle(JOB, (s, ctx) -> oldSaw.add(s))
                  .start();
          Worker fresh =
              worker(Sluice.using(nc), q)
                  .workerId("new")
                  .concurrency(1)
                  .prefetch(1)
                  .handle(JOB, (s, ctx) -> newSaw.add(s))
                  .handle(
                      v2,
                      (s, ctx) -> {
                        Thread.sleep(
                            300); // 10 x 300 ms: most wait well past the old worker's grace
                        newSaw.add(s);
                      })
                  .start()) {
        for (int i = 0; i < 10; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(2), ("v2-" + i).getBytes());
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> newSaw.size() == 10);
        assertThat(oldSaw).isEmpty();
        // The old worker may have seen some after its grace period: it left them, it did not
        // dead-letter them, because the new worker advertises version 2.
        assertThat(old.deadLetteredCount()).isZero();
        assertThat(Queues.deadLetters(nc, q)).isEmpty();
      }
    }
  }
}
