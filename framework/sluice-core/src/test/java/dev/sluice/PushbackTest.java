package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static dev.sluice.OutcomeWorkers.provision;
import static dev.sluice.OutcomeWorkers.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Middleware;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Downstream pushback end to end on a real server (protocol §15.1): a pushback is retried on the
 * same delivery without counting an attempt, the advertised capacity follows AIMD within [floor,
 * configured], the worker holds no more than the lowered capacity, and a middleware that wraps
 * exceptions keeps the signal.
 */
class PushbackTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static final PushbackPolicy QUICK =
      PushbackPolicy.builder()
          .decreaseInterval(Duration.ofMillis(200))
          .increaseInterval(Duration.ofMillis(200))
          .build();

  private static WorkerAdvert advert(Connection nc, String q, String workerId) {
    return Sluice.using(nc).inspect(q).workers().stream()
        .filter(a -> a.workerId().equals(workerId))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void pushbackIsNoAttemptAndNeverDeadLetters() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      List<Long> attempts = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(2).build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    attempts.add(ctx.attempt());
                    if (attempts.size() <= 6) {
                      throw new DownstreamOverloadedException("429", Duration.ofMillis(50));
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "m".getBytes());
        await().atMost(Duration.ofSeconds(15)).until(() -> w.processedCount() == 1);
        // Six pushbacks with max attempts 2: still the first delivery, nothing retried or dead.
        assertThat(attempts).hasSize(7).containsOnly(1L);
        assertThat(w.pushbackCount()).isEqualTo(6);
        assertThat(w.retriedCount()).isZero();
        assertThat(w.deadLetteredCount()).isZero();
      }
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void withoutRetryAfterTheBackoffDelaysTheRetry() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      List<Long> at = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .backoff(Backoff.fixed(Duration.ofMillis(400)))
              .handle(
                  JOB,
                  (s, ctx) -> {
                    at.add(System.nanoTime());
                    if (at.size() == 1) {
                      throw new DownstreamOverloadedException("busy");
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "m".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
        assertThat((at.get(1) - at.get(0)) / 1e6).isBetween(390.0, 1500.0);
      }
    }
  }

  @Test
  void everyHandlerPushingBackLowersToTheFloorKeepsTheQueueAliveAndRecovers() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      AtomicBoolean overloaded = new AtomicBoolean(true);
      AtomicInteger running = new AtomicInteger();
      AtomicInteger maxRunning = new AtomicInteger();
      AtomicBoolean measuring = new AtomicBoolean();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .concurrency(4)
              .prefetch(4)
              .pushback(QUICK)
              .meterRegistry(registry)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    int now = running.incrementAndGet();
                    try {
                      if (measuring.get()) {
                        maxRunning.accumulateAndGet(now, Math::max);
                      }
                      Thread.sleep(20);
                      if (overloaded.get()) {
                        throw new DownstreamOverloadedException("503", Duration.ofMillis(100));
                      }
                    } finally {
                      running.decrementAndGet();
                    }
                  })
              .start()) {
        for (int i = 0; i < 30; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        // The floor (1): lowered from 8, advertised so, and the breaker stays closed.
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  WorkerAdvert a = advert(nc, q, w.workerId());
                  assertThat(a.capacity()).isEqualTo(1);
                  assertThat(a.pushback().nominalCapacity()).isEqualTo(8);
                  assertThat(a.loweredByPushback()).isTrue();
                  assertThat(a.pushback().loweredSince()).isNotNull();
                });
        assertThat(w.advertisedCapacity()).isEqualTo(1);
        assertThat(w.nominalCapacity()).isEqualTo(8);
        // While at the floor, at most one handler runs at a time.
        measuring.set(true);
        long before = w.pushbackCount();
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pushbackCount() >= before + 5);
        measuring.set(false);
        assertThat(maxRunning.get()).isEqualTo(1);
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
        assertThat(registry.get("sluice.worker.capacity").gauge().value()).isEqualTo(1.0);
        assertThat(registry.get("sluice.worker.pushbacks").counter().count()).isPositive();

        overloaded.set(false);
        await().atMost(Duration.ofSeconds(20)).until(() -> w.processedCount() == 30);
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  WorkerAdvert a = advert(nc, q, w.workerId());
                  assertThat(a.capacity()).isEqualTo(8);
                  assertThat(a.loweredByPushback()).isFalse();
                  assertThat(a.pushback().loweredSince()).isNull();
                  assertThat(a.pushback().pushbacksTotal()).isEqualTo(w.pushbackCount());
                  assertThat(a.pushback().decreasesTotal()).isGreaterThanOrEqualTo(3);
                });
        assertThat(w.deadLetteredCount()).isZero();
        assertThat(w.retriedCount()).isZero();
      }
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void theWindowShrinksWithTheLoweredCapacityAndGrowsBack() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      AtomicBoolean overloaded = new AtomicBoolean(true);
      try (Worker w =
          worker(Sluice.using(nc), q)
              .concurrency(8)
              .prefetch(8)
              .pushback(QUICK)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    if (overloaded.get()) {
                      throw new DownstreamOverloadedException("429", Duration.ofMillis(100));
                    }
                  })
              .start()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> Sluice.using(nc).inspect(q).window() == 16);
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "m".getBytes());
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> Sluice.using(nc).inspect(q).window() == 1);
        overloaded.set(false);
        await()
            .atMost(Duration.ofSeconds(15))
            .until(() -> Sluice.using(nc).inspect(q).window() == 16);
        assertThat(w.processedCount()).isEqualTo(1);
      }
    }
  }

  @Test
  void aWrappingMiddlewareKeepsTheSignalASwallowingOneTurnsItIntoSuccess() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
      Middleware wrapping =
          next ->
              ctx -> {
                try {
                  next.proceed(ctx);
                } catch (Exception e) {
                  throw new IllegalStateException("handler failed: " + e, e);
                }
              };
      try (Worker w =
          worker(Sluice.using(nc), q)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
              .middleware(wrapping)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    if (calls.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet() < 3) {
                      throw new DownstreamOverloadedException("429", Duration.ofMillis(20));
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "wrapped".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
        assertThat(calls.get("wrapped").get()).isEqualTo(3);
        assertThat(w.pushbackCount()).isEqualTo(2);
        assertThat(w.deadLetteredCount()).isZero();
      }
      Middleware swallowing =
          next ->
              ctx -> {
                try {
                  next.proceed(ctx);
                } catch (DownstreamOverloadedException e) {
                  // gives up on the message: the worker sees a success
                }
              };
      try (Worker w =
          worker(Sluice.using(nc), q)
              .middleware(swallowing)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    throw new DownstreamOverloadedException("429");
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "swallowed".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
        assertThat(w.pushbackCount()).isZero();
        assertThat(w.advertisedCapacity()).isEqualTo(w.nominalCapacity());
      }
    }
  }

  @Test
  void aWorkerThatDiesWhileLoweredLeavesTheWindowAndItsMessagesComeBack() throws Exception {
    try (Connection nc = NATS.server().connect();
        Connection dying = NATS.server().connect()) {
      String q =
          provision(nc, QueueSpec.builder(NATS.uniqueName("q")).ackWait(Duration.ofSeconds(2)));
      AtomicBoolean survivorReady = new AtomicBoolean();
      Worker lowered =
          worker(Sluice.using(dying), q)
              .concurrency(2)
              .prefetch(2)
              .pushback(QUICK)
              .noReconciler()
              .handle(
                  JOB,
                  (s, ctx) -> {
                    throw new DownstreamOverloadedException("503", Duration.ofSeconds(30));
                  })
              .start();
      try {
        for (int i = 0; i < 4; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> advert(nc, q, lowered.workerId()).loweredByPushback());
        dying.close(); // the worker is gone: no advert refresh, no progress, no ack
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  QueueInspection i = Sluice.using(nc).inspect(q);
                  assertThat(i.liveWorkers()).isEmpty();
                  assertThat(i.window()).isZero(); // a standing buffer of 0 and no live advert
                });
        List<String> handled = new CopyOnWriteArrayList<>();
        try (Worker survivor =
            worker(Sluice.using(nc), q)
                .handle(JOB, (s, ctx) -> handled.add(s + "@" + ctx.attempt()))
                .start()) {
          survivorReady.set(true);
          // The held messages come back after the ack wait, each with one more delivery.
          await().atMost(Duration.ofSeconds(15)).until(() -> survivor.processedCount() == 4);
          assertThat(handled).allMatch(h -> h.endsWith("@2"));
          assertThat(survivor.deadLetteredCount()).isZero();
          assertThat(Sluice.using(nc).inspect(q).window()).isEqualTo(survivor.advertisedCapacity());
        }
      } finally {
        lowered.close();
      }
      assertThat(survivorReady).isTrue();
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void closeGivesBackAHeldMessageAtOnceWithItsDelay() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      AtomicInteger calls = new AtomicInteger();
      Worker w =
          worker(Sluice.using(nc), q)
              .shutdownGrace(Duration.ofSeconds(20))
              .handle(
                  JOB,
                  (s, ctx) -> {
                    calls.incrementAndGet();
                    throw new DownstreamOverloadedException("503", Duration.ofSeconds(3));
                  })
              .start();
      Queues.rawPublish(nc, q, Queues.goodHeaders(1), "m".getBytes());
      await().atMost(Duration.ofSeconds(10)).until(() -> w.pushbackCount() == 1);
      long start = System.nanoTime();
      w.close();
      // Not the 20 s grace: a held message waits for no one at shutdown.
      assertThat((System.nanoTime() - start) / 1e9).isLessThan(10.0);
      assertThat(Queues.backlog(nc, q)).isEqualTo(1);
      // NAKed with the rest of its 3 s: the next worker gets it on delivery 2, not at once.
      List<Long> attempts = new CopyOnWriteArrayList<>();
      long restartedAt = System.nanoTime();
      List<Long> seenAfterMs = new CopyOnWriteArrayList<>();
      try (Worker next =
          worker(Sluice.using(nc), q)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    attempts.add(ctx.attempt());
                    seenAfterMs.add((System.nanoTime() - restartedAt) / 1_000_000);
                  })
              .start()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> next.processedCount() == 1);
      }
      assertThat(attempts).containsExactly(2L);
      assertThat(seenAfterMs.get(0)).isGreaterThan(500L);
      assertThat(calls.get()).isEqualTo(1);
    }
  }

  @Test
  void builderChecksThePolicy() throws Exception {
    assertThatThrownBy(() -> PushbackPolicy.builder().decrease(1.0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("decrease must be in (0, 1)");
    assertThatThrownBy(() -> PushbackPolicy.builder().floor(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("floor must be in [1, 4096]");
    assertThatThrownBy(() -> PushbackPolicy.builder().increaseInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("increaseInterval must be > 0");
    assertThatThrownBy(() -> new DownstreamOverloadedException("x", Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      assertThatThrownBy(
              () ->
                  worker(Sluice.using(nc), q)
                      .concurrency(2)
                      .prefetch(2)
                      .pushback(PushbackPolicy.builder().floor(5).build())
                      .handle(JOB, (s, ctx) -> {})
                      .start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("pushback floor (5) must be <= the worker's capacity (4");
      // Disabled: the capacity stays, the pushback is still no attempt.
      AtomicInteger n = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .pushback(PushbackPolicy.disabled())
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    if (n.incrementAndGet() < 3) {
                      throw new DownstreamOverloadedException("429", Duration.ofMillis(20));
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "m".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
        assertThat(w.advertisedCapacity()).isEqualTo(w.nominalCapacity()).isEqualTo(8);
        assertThat(advert(nc, q, w.workerId()).pushback().decreasesTotal()).isZero();
      }
    }
  }
}
