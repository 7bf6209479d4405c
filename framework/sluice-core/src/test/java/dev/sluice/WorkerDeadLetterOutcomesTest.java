package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static dev.sluice.OutcomeWorkers.provision;
import static dev.sluice.OutcomeWorkers.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Messages that end as dead letters, end to end against a real server (protocol §8, §10). */
class WorkerDeadLetterOutcomesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

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
}
