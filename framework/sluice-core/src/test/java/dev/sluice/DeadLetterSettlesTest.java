package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.ReducedRecords;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every message settles (protocol §8.4): a record that would exceed the server's limits is written
 * reduced on the first failed attempt, and a record that cannot be written for another reason keeps
 * the message and makes the worker FAILING until the cause goes.
 */
class DeadLetterSettlesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static Worker.Builder rejectingWorker(Sluice sluice, String q, AtomicInteger runs) {
    return sluice
        .worker(q)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(Duration.ofMillis(300))
        .handle(
            JOB,
            (s, ctx) -> {
              runs.incrementAndGet();
              throw new RejectMessageException("not this one");
            });
  }

  static String provision(Connection nc) {
    QueueSpec s = QueueSpec.builder(NATS.uniqueName("q")).build();
    Sluice.using(nc).provision(s);
    return s.queue();
  }

  static Headers headers(Map<String, String> m) {
    Headers h = new Headers();
    m.forEach(h::put);
    return h;
  }

  /** Publishes a valid message 100 bytes below the payload limit: it fits, its record cannot. */
  static byte[] publishNearLimit(Connection nc, String q, Map<String, String> h) throws Exception {
    long max = nc.getServerInfo().getMaxPayload();
    byte[] payload = new byte[(int) (max - ReducedRecords.size(headers(h)) - 100)];
    Arrays.fill(payload, (byte) 'p');
    Queues.rawPublish(nc, q, h, payload);
    return payload;
  }

  /**
   * The regression: a message within a few hundred bytes of the 1 MiB limit was NAKed forever,
   * because its record (the payload plus about 300 bytes of headers) was refused on every attempt,
   * and it held a credit for good. Without the reduction the record never appears and the message
   * stays in the work stream.
   */
  @Test
  void nearLimitPayloadEndsAsAReducedDeadLetterOnTheFirstAttempt() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Map<String, String> h = Queues.goodHeaders(1);
      byte[] payload = publishNearLimit(nc, q, h);
      AtomicInteger runs = new AtomicInteger();
      try (Worker w = rejectingWorker(Sluice.using(nc), q, runs).start()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> w.deadLetteredCount() == 1);

        assertThat(runs.get()).as("handler runs: settled on the first failed attempt").isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> Queues.backlog(nc, q) == 0);
        List<Message> records = Queues.deadLetters(nc, q);
        assertThat(records).hasSize(1);
        Message r = records.get(0);
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_ATTEMPTS)).isEqualTo("1");
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_REASON)).isEqualTo("rejected");
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_PAYLOAD_LENGTH))
            .isEqualTo(Integer.toString(payload.length));
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_PAYLOAD_SHA256))
            .isEqualTo(ReducedRecords.sha256(payload));
        assertThat(r.getData().length)
            .isLessThan(payload.length)
            .isGreaterThan(payload.length - 2000);
        assertThat(r.getData()).isEqualTo(Arrays.copyOf(payload, r.getData().length));
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_MSG_ID))
            .isEqualTo(h.get(Protocol.H_MSG_ID));
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
      }
    }
  }

  /**
   * The same with headers near nats-server's 64 KB header limit (error 10097 before): the big
   * header is dropped by name, the payload is kept whole.
   */
  @Test
  void nearLimitHeadersAreDroppedByNameOnTheFirstAttempt() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Map<String, String> h = Queues.goodHeaders(1);
      Headers without = headers(h);
      // 200 bytes below the header limit; the record's own headers add more than that.
      int bigLength = (int) (ReducedRecords.HEADER_LIMIT - ReducedRecords.size(without) - 200);
      h.put("X-Big", "b".repeat(bigLength - "X-Big".length() - 4));
      h.put("X-Small", "kept");
      Queues.rawPublish(nc, q, h, "body".getBytes());
      AtomicInteger runs = new AtomicInteger();
      try (Worker w = rejectingWorker(Sluice.using(nc), q, runs).start()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> w.deadLetteredCount() == 1);

        assertThat(runs.get()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> Queues.backlog(nc, q) == 0);
        Message r = Queues.deadLetters(nc, q).get(0);
        assertThat(r.getHeaders().getFirst(SluiceHeaders.DLQ_DROPPED_HEADERS)).isEqualTo("X-Big");
        assertThat(r.getHeaders().containsKey("X-Big")).isFalse();
        assertThat(r.getHeaders().getFirst("X-Small")).isEqualTo("kept");
        assertThat(r.getHeaders().containsKey(SluiceHeaders.DLQ_PAYLOAD_LENGTH)).isFalse();
        assertThat(Queues.text(r.getData())).isEqualTo("body");
      }
    }
  }

  /**
   * A record that cannot be written for another reason keeps the message and says why: with the DLQ
   * stream deleted the worker is FAILING naming the stream, the message stays in the work stream,
   * and once the stream is re-provisioned the record is written and the worker recovers. Without
   * the health report an operator would see a healthy worker while messages pile up; without the
   * NAK the message would be lost.
   */
  @Test
  void deadLetterStreamDeletedMakesTheWorkerFailingAndKeepsTheMessage() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      AtomicInteger runs = new AtomicInteger();
      try (Worker w = rejectingWorker(Sluice.using(nc), q, runs).start()) {
        await().atMost(Duration.ofSeconds(5)).until(() -> w.health().ready());
        nc.jetStreamManagement().deleteStream(Protocol.DLQ_STREAM);
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "poison".getBytes());

        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail()).contains(Protocol.DLQ_STREAM);
        assertThat(Queues.backlog(nc, q)).as("the message is kept").isEqualTo(1);
        assertThat(w.deadLetteredCount()).isZero();
        // The advert says why (§5.2), so tools that read only adverts can name the worker.
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> Sluice.using(nc).inspect(q).workers().get(0).failing());
        WorkerAdvert advert = Sluice.using(nc).inspect(q).workers().get(0);
        assertThat(advert.problem()).startsWith("dlq-unwritable: ").contains(Protocol.DLQ_STREAM);
        assertThat(advert.problemCodes()).containsExactly("dlq-unwritable");

        Sluice.using(nc).provision(QueueSpec.of(q));
        await().atMost(Duration.ofSeconds(15)).until(() -> w.deadLetteredCount() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> w.health().ready());
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> Sluice.using(nc).inspect(q).workers().get(0).problem().isEmpty());
        await().atMost(Duration.ofSeconds(5)).until(() -> Queues.backlog(nc, q) == 0);
        List<Message> records = Queues.deadLetters(nc, q);
        assertThat(records).hasSize(1);
        assertThat(Queues.text(records.get(0).getData())).isEqualTo("poison");
      }
    }
  }

  /** A record with a cut payload is never replayed: its handler would run on bytes nobody sent. */
  @Test
  void cutRecordIsNotReplayed() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      publishNearLimit(nc, q, Queues.goodHeaders(1));
      AtomicInteger runs = new AtomicInteger();
      try (Worker w = rejectingWorker(Sluice.using(nc), q, runs).start()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> w.deadLetteredCount() == 1);
      }
      DeadLetterQueue dlq = Sluice.using(nc).deadLetters();
      DeadLetterRecord record = dlq.list(q, 10).get(0);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> dlq.replay(record))
          .isInstanceOf(PublishException.class)
          .hasMessageContaining("cut payload");
      assertThat(dlq.count(q)).isEqualTo(1);
    }
  }
}
