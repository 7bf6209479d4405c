package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static dev.sluice.OutcomeWorkers.provision;
import static dev.sluice.OutcomeWorkers.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
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

/**
 * Slow handlers, killed workers and shutdown against a real server: ack progress, redelivery after
 * the ack wait, idempotency and NAK at shutdown (protocol §7, §9).
 */
class WorkerTimeoutOutcomesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

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
}
