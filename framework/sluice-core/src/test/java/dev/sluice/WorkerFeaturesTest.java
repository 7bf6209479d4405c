package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.IdKeys;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import io.nats.client.Message;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Public worker features used as a user would: upcasting, stores, capacity, timeouts, threads. */
class WorkerFeaturesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static Worker.Builder worker(Connection nc, String q) {
    return Queues.quickWorker(nc, q);
  }

  static String provision(Connection nc) {
    return Queues.provision(nc, NATS);
  }

  static byte[] append(byte[] b, String suffix) {
    return (new String(b, StandardCharsets.UTF_8) + suffix).getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void chainHoldsOnlyTheConfiguredStepsInTheDocumentedOrder() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      try (Worker plain = worker(nc, q).handle(JOB, (s, c) -> {}).start();
          Worker full =
              worker(nc, q)
                  .meterRegistry(new SimpleMeterRegistry())
                  .middleware(next -> next)
                  .handle(JOB, (s, c) -> {})
                  .start();
          Worker lean =
              worker(nc, q)
                  .circuitBreaker(CircuitBreakerPolicy.disabled())
                  .handle(JOB, (s, c) -> {})
                  .start()) {
        // Validation before the delivery limit, the duplicate check before the grace rule, and
        // the breaker outside the timeout (a timed-out run counts as a failure): the order is
        // part of the protocol's outcome rules (§7.2).
        assertThat(plain.steps())
            .containsExactly(
                "ValidateStep",
                "DeliveryLimitStep",
                "DuplicateStep",
                "GraceStep",
                "DecodeStep",
                "TraceStep",
                "BreakerStep",
                "TimeoutStep",
                "HandlerStep");
        assertThat(full.steps())
            .containsSubsequence("TimeoutStep", "MetricsStep", "HandlerStep")
            .hasSize(10);
        assertThat(lean.steps()).doesNotContain("BreakerStep", "MetricsStep").hasSize(8);
      }
    }
  }

  @Test
  void upcastersChainFromVersionOneToTheHandlersVersion() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      List<String> seen = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(nc, q)
              .handle(
                  Codec.utf8(Queues.TYPE, 3),
                  (s, ctx) -> seen.add(s + " wire v" + ctx.version() + " value " + ctx.value()))
              .upcast(Queues.TYPE, 1, b -> append(b, "+v2"))
              .upcast(Queues.TYPE, 2, b -> append(b, "+v3"))
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "order".getBytes());
        Queues.rawPublish(nc, q, Queues.goodHeaders(2), "order".getBytes());
        Queues.rawPublish(nc, q, Queues.goodHeaders(3), "order".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 3);
      }
      // Each version goes through exactly the upcasters after it, in order, and the context
      // still reports the version on the wire.
      assertThat(seen)
          .containsExactlyInAnyOrder(
              "order+v2+v3 wire v1 value order+v2+v3",
              "order+v3 wire v2 value order+v3",
              "order wire v3 value order");
    }
  }

  /** A store the way a user would write one over their own database. */
  static final class MapStore implements IdempotencyStore {
    final Map<String, String> processed = new ConcurrentHashMap<>();
    final Set<String> asked = ConcurrentHashMap.newKeySet();

    @Override
    public boolean isProcessed(String key) {
      asked.add(key);
      return processed.containsKey(key);
    }

    @Override
    public boolean markProcessed(String key, String workerId) {
      return processed.putIfAbsent(key, workerId) == null;
    }
  }

  @Test
  void customIdempotencyStoreDecidesWhatRunsAndRecordsWhatRan() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      MapStore store = new MapStore();
      Map<String, String> done = Queues.goodHeaders(1);
      Map<String, String> fresh = Queues.goodHeaders(1);
      String doneKey = IdKeys.storeKey(q, done.get(Protocol.H_MSG_ID));
      String freshKey = IdKeys.storeKey(q, fresh.get(Protocol.H_MSG_ID));
      store.processed.put(doneKey, "another-worker");
      List<String> handled = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(nc, q)
              .workerId("store-user")
              .idempotencyStore(store)
              .handle(JOB, (s, ctx) -> handled.add(s))
              .start()) {
        Queues.rawPublish(nc, q, done, "already-done".getBytes());
        Queues.rawPublish(nc, q, fresh, "new".getBytes());
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.processedCount() == 1 && w.duplicateCount() == 1);
      }
      // The store's answer, not a built-in cache, decides: the done message never runs.
      assertThat(handled).containsExactly("new");
      assertThat(store.asked).contains(doneKey, freshKey);
      assertThat(store.processed).containsEntry(freshKey, "store-user");
      assertThat(Queues.backlog(nc, q)).isZero();
    }
  }

  @Test
  void latencyTargetCapacityFollowsTheServiceRate() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      try (Worker w =
          worker(nc, q)
              .concurrency(2)
              .prefetch(2)
              .capacity(CapacityPolicy.latencyTarget(Duration.ofSeconds(1), 5_000))
              .handle(JOB, (s, ctx) -> Thread.sleep(5))
              .start()) {
        int idle = w.advertisedCapacity();
        // Idle: no rate yet, so about the handlers' own concurrency (plus the transit allowance).
        assertThat(idle).isBetween(2, 8);
        for (int i = 0; i < 1_500; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        // Two handlers of 5 ms serve up to 400/s; a 1 s target then wants that many waiting.
        // A static capacity would stay at concurrency + prefetch = 4.
        await().atMost(Duration.ofSeconds(30)).until(() -> w.advertisedCapacity() > 40);
        await().atMost(Duration.ofSeconds(60)).until(() -> w.processedCount() == 1_500);
        // And back down once the work stops: the rate decays, so does the budget.
        await().atMost(Duration.ofSeconds(30)).until(() -> w.advertisedCapacity() <= 8);
      }
    }
  }

  @Test
  void handlerPastItsTimeoutIsInterruptedRetriedThenDeadLettered() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      AtomicInteger interrupted = new AtomicInteger();
      try (Worker w =
          worker(nc, q)
              .handlerTimeout(Duration.ofMillis(300))
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(2).build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    try {
                      Thread.sleep(30_000);
                    } catch (InterruptedException e) {
                      interrupted.incrementAndGet();
                      throw e;
                    }
                  })
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "slow".getBytes());
        await().atMost(Duration.ofSeconds(20)).until(() -> w.deadLetteredCount() == 1);
        assertThat(w.retriedCount()).isEqualTo(1);
      }
      // Both attempts were cut short by the watchdog, not left to run for 30 s.
      assertThat(interrupted).hasValue(2);
      Message rec = Queues.deadLetters(nc, q).get(0);
      assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_REASON)).isEqualTo("max-attempts");
      assertThat(rec.getHeaders().getFirst(Protocol.H_DLQ_ERROR))
          .contains("TimeoutException: handler timed out after PT0.3S");
    }
  }

  @Test
  void handlersRunOnTheUsersExecutorWhichTheWorkerLeavesRunning() throws Exception {
    AtomicInteger n = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            3,
            r -> {
              Thread t = new Thread(r, "user-pool-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Set<String> threads = ConcurrentHashMap.newKeySet();
      try (Worker w =
          worker(nc, q)
              .executor(pool)
              .handle(JOB, (s, ctx) -> threads.add(Thread.currentThread().getName()))
              .start()) {
        for (int i = 0; i < 20; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> w.processedCount() == 20);
      }
      assertThat(threads).isNotEmpty().allMatch(t -> t.startsWith("user-pool-"));
      // The pool is the user's: closing the worker must not shut it down.
      assertThat(pool.isShutdown()).isFalse();
    } finally {
      pool.shutdownNow();
    }
  }
}
