package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.IdKeys;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A finished message whose processed id cannot be recorded is held (unacked, kept with the worker)
 * until the store answers again, and the worker reports FAILING meanwhile (fail closed); with
 * {@code ackUnrecordedAfter} it is acked unrecorded once that bound runs out.
 */
class IdempotencyHoldTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration ACK_WAIT = Duration.ofSeconds(1);

  /**
   * The shared store's bucket disappears while a handler runs (as a store without quorum stops
   * answering) and comes back 5 s later: longer than three ack waits and than the handler timeout,
   * the bound after which the worker used to ack unrecorded. The message stays stored and is not
   * redelivered (its handler ran once), the worker's health is FAILING and names the store, and
   * once the bucket answers the id is recorded and the message acked. Acking unrecorded, or letting
   * the message go back to the server, would fail the first wait; a health that ignored the store,
   * the second.
   */
  @Test
  void aFinishedMessageIsHeldUntilTheSharedStoreAnswersAgain() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      QueueSpec spec = QueueSpec.builder(NATS.uniqueName("q")).ackWait(ACK_WAIT).build();
      Sluice sluice = Sluice.using(nc);
      sluice.provision(spec);
      String q = spec.queue();
      AtomicInteger runs = new AtomicInteger();
      CountDownLatch storeGone = new CountDownLatch(1);
      try (Worker w =
          Queues.quickWorker(nc, q)
              .sharedIdempotency()
              .handlerTimeout(Duration.ofSeconds(3))
              .handle(
                  JOB,
                  (s, c) -> {
                    runs.incrementAndGet();
                    storeGone.await(2, TimeUnit.SECONDS);
                  })
              .start()) {
        java.util.Map<String, String> headers = Queues.goodHeaders(1);
        Queues.rawPublish(nc, q, headers, "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.get() == 1);
        nc.jetStreamManagement().deleteStream("KV_" + IdempotencyStore.SHARED_BUCKET);
        storeGone.countDown();

        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail())
            .contains("idempotency store")
            .contains(IdempotencyStore.SHARED_BUCKET)
            .contains("1 finished messages held");
        await()
            .atMost(Duration.ofSeconds(5))
            .until(
                () ->
                    sluice.inspect(q).workers().get(0).problem().startsWith("idempotency-store: "));
        await()
            .during(Duration.ofSeconds(5))
            .atMost(Duration.ofSeconds(8))
            .until(
                () ->
                    runs.get() == 1
                        && Queues.backlog(nc, q) == 1
                        && w.processedCount() == 0
                        && w.health().state() == Health.State.FAILING);

        sluice.provision(spec); // the bucket is back

        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    Queues.backlog(nc, q) == 0
                        && w.processedCount() == 1
                        && w.health().state() == Health.State.RUNNING);
        assertThat(runs.get()).isEqualTo(1);
        assertThat(
                nc.keyValue(IdempotencyStore.SHARED_BUCKET)
                    .get(IdKeys.storeKey(q, headers.get(SluiceHeaders.MSG_ID))))
            .as("the id was recorded before the ack")
            .isNotNull();
      }
    }
  }

  /**
   * A team that prefers to ack anyway bounds the hold: after {@code ackUnrecordedAfter} the message
   * is acked without its record, and the worker stays FAILING while the store does.
   */
  @Test
  void withABoundTheMessageIsAckedUnrecordedOnceItRunsOut() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      QueueSpec spec = QueueSpec.builder(NATS.uniqueName("q")).ackWait(ACK_WAIT).build();
      Sluice.using(nc).provision(spec);
      String q = spec.queue();
      WorkerRegressionTest.FlakyStore store = new WorkerRegressionTest.FlakyStore();
      AtomicInteger runs = new AtomicInteger();
      try (Worker w =
          Queues.quickWorker(nc, q)
              .idempotencyStore(store)
              .ackUnrecordedAfter(Duration.ofSeconds(2))
              .handle(JOB, (s, c) -> runs.incrementAndGet())
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> store.failedMarks.get() >= 1);
        long heldFrom = System.nanoTime();
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> Queues.backlog(nc, q) == 0 && w.processedCount() == 1);
        assertThat(Duration.ofNanos(System.nanoTime() - heldFrom))
            .as("held for the bound first")
            .isGreaterThanOrEqualTo(Duration.ofMillis(1500));
        assertThat(store.recorded).isEmpty();
        assertThat(runs.get()).isEqualTo(1);
        assertThat(w.health().state()).isEqualTo(Health.State.FAILING);
        assertThat(w.health().detail()).contains("idempotency store failing");
      }
    }
  }

  /**
   * A worker closed while it holds a message acks it unrecorded instead of leaving it to the
   * shutdown's NAK: the NAK would run its handler again for certain, the ack only if it is lost.
   * Closing does not wait for the store either.
   */
  @Test
  void aWorkerClosedWhileHoldingAcksInsteadOfNaking() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      QueueSpec spec = QueueSpec.builder(NATS.uniqueName("q")).ackWait(ACK_WAIT).build();
      Sluice.using(nc).provision(spec);
      String q = spec.queue();
      WorkerRegressionTest.FlakyStore store = new WorkerRegressionTest.FlakyStore();
      AtomicInteger runs = new AtomicInteger();
      Worker w =
          Queues.quickWorker(nc, q)
              .idempotencyStore(store)
              .shutdownGrace(Duration.ofSeconds(10))
              .handle(JOB, (s, c) -> runs.incrementAndGet())
              .start();
      Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
      await().atMost(Duration.ofSeconds(10)).until(() -> store.failedMarks.get() >= 2);
      long closing = System.nanoTime();
      w.close();
      assertThat(Duration.ofNanos(System.nanoTime() - closing))
          .as("the hold ends with the worker, not at the shutdown grace")
          .isLessThan(Duration.ofSeconds(5));
      await().atMost(Duration.ofSeconds(5)).until(() -> Queues.backlog(nc, q) == 0);
      assertThat(runs.get()).isEqualTo(1);
      assertThat(w.health().state()).isEqualTo(Health.State.STOPPED);
    }
  }
}
