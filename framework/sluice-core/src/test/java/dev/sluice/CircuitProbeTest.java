package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Circuit-breaker probes against a real server (protocol §7.6 "Probes"): a lone worker, its
 * reconciler running as in a real fleet, whose handler fails until its dependency comes back. Every
 * failed message is dead-lettered at its first attempt, so the queue drains while the circuit is
 * open.
 */
class CircuitProbeTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static final int FAILURES = 3;

  private static Worker.Builder loneWorker(
      Connection nc, String q, Duration delay, AtomicBoolean dependencyUp) {
    return Queues.quickWorker(nc, q)
        .concurrency(2)
        .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
        .circuitBreaker(
            CircuitBreakerPolicy.builder().failures(FAILURES).window(5).delay(delay).build())
        .handle(
            JOB,
            (s, ctx) -> {
              if (!dependencyUp.get()) {
                throw new IllegalStateException("dependency down");
              }
            });
  }

  /** Opens the circuit with failing messages that are all dead-lettered: the queue is empty. */
  private static void openAndDrain(Connection nc, String q, Worker w) throws Exception {
    for (int i = 0; i < FAILURES + 2; i++) {
      Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("fails" + i).getBytes());
    }
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () ->
                w.deadLetteredCount() == FAILURES + 2
                    && Queues.backlog(nc, q) == 0
                    && w.health().state() == Health.State.CIRCUIT_OPEN);
    assertThat(w.advertisedCapacity()).isZero();
  }

  /** Pull requests the server holds for the queue's workers. */
  private static long waitingPulls(Connection nc, String q) throws Exception {
    return nc.jetStreamManagement()
        .getConsumerInfo(Protocol.workStream(q), Protocol.WORKER_CONSUMER)
        .getNumWaiting();
  }

  @Test
  void aLoneWorkersCircuitClosesOnceItsProbeFindsTheQueueEmpty() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = Queues.provision(nc, NATS);
      AtomicBoolean dependencyUp = new AtomicBoolean(false);
      try (Worker w = loneWorker(nc, q, Duration.ofMillis(500), dependencyUp).start();
          QueueProducer p =
              Sluice.using(nc).producer(q).acquireTimeout(Duration.ofSeconds(30)).build()) {
        openAndDrain(nc, q, w);
        // The reconciler burns the credits of the window that closed: no send gets through
        // before a worker mints again.
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.tokens(nc, q) == 0);
        dependencyUp.set(true);
        // Without the rule the probe waits for a message that no producer can send: the open
        // worker advertises capacity 0, the reconciler mints nothing for the queue it serves
        // alone, and this send fails with a CreditTimeoutException, now and after any restart of
        // the producer, until the worker restarts. With it, the empty probe pull closes the circuit
        // and the worker advertises capacity again.
        p.send(OutgoingMessage.of(JOB, "after the outage"));
        await().atMost(Duration.ofSeconds(20)).until(() -> w.processedCount() == 1);
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
        assertThat(w.advertisedCapacity()).isPositive();
        assertThat(w.deadLetteredCount()).isEqualTo(FAILURES + 2);
      }
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void aProbeSettledWithoutAHandlerRunEndsAndTheNextMessageProbes() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = Queues.provision(nc, NATS);
      AtomicBoolean dependencyUp = new AtomicBoolean(false);
      // A delay longer than a pull request lives: the requests made before the circuit opened
      // expire, and both messages are queued before the first probe pull.
      try (Worker w = loneWorker(nc, q, Duration.ofSeconds(8), dependencyUp).start()) {
        openAndDrain(nc, q, w);
        await()
            .atMost(Duration.ofSeconds(8))
            .until(
                () -> waitingPulls(nc, q) == 0 && w.health().state() == Health.State.CIRCUIT_OPEN);
        // The first probe takes a message without a message id: dead-lettered as bad-header, no
        // handler run, so it tells nothing about the dependency.
        Map<String, String> noId = Queues.goodHeaders(1);
        noId.remove(Protocol.H_MSG_ID);
        Queues.rawPublish(nc, q, noId, "malformed".getBytes());
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "good".getBytes());
        dependencyUp.set(true);
        // Without the rule the malformed message keeps the only probe for ever: the good message
        // stays queued and the circuit open, capacity 0, until the worker restarts.
        await().atMost(Duration.ofSeconds(20)).until(() -> w.processedCount() == 1);
        assertThat(w.deadLetteredCount()).isEqualTo(FAILURES + 3);
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
      }
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }
}
