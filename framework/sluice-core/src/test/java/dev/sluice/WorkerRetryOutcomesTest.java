package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static dev.sluice.OutcomeWorkers.provision;
import static dev.sluice.OutcomeWorkers.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Failed handlers retried end to end against a real server: backoff between attempts, the circuit
 * breaker, and messages left for a worker that handles their version (protocol §4.2, §7.3, §7.6).
 */
class WorkerRetryOutcomesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

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
