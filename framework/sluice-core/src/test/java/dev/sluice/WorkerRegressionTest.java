package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.spi.Middleware;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** One regression test per worker bug, named after what broke. */
class WorkerRegressionTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static Worker.Builder worker(Sluice sluice, String q) {
    return sluice
        .worker(q)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(Duration.ofMillis(300));
  }

  static String provision(Connection nc) {
    QueueSpec s = QueueSpec.builder(NATS.uniqueName("q")).build();
    Sluice.using(nc).provision(s);
    return s.queue();
  }

  @Test
  void messageContextValueReturnedTheEnginesPrivateRecordInsteadOfThePayload() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      List<Object> values = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(Sluice.using(nc), q).handle(JOB, (s, ctx) -> values.add(ctx.value())).start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "payload".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
      }
      // The Javadoc promises the decoded payload; a handler (or middleware) reading it got an
      // internal record it could not even name.
      assertThat(values).containsExactly("payload");
    }
  }

  @Test
  void disabledCircuitBreakerAllocatedAWindowOfIntegerMaxValue() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      try (Worker off =
              worker(Sluice.using(nc), q)
                  .circuitBreaker(CircuitBreakerPolicy.disabled())
                  .handle(JOB, (s, c) -> {})
                  .start();
          Worker on = worker(Sluice.using(nc), q).handle(JOB, (s, c) -> {}).start()) {
        // Disabled means absent: no Failsafe breaker (whose count window was a 256 MiB bitset).
        assertThat(off.steps()).doesNotContain("BreakerStep");
        assertThat(on.steps()).contains("BreakerStep");
      }
    }
  }

  @Test
  void disabledCircuitBreakerWorkerRanOutOfMemoryInASmallHeap() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Subscription handled = nc.subscribe(q + ".handled");
      // Without Micrometer, too: an optional dependency a user may not have.
      String classPath =
          Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
              .filter(p -> !p.contains("micrometer"))
              .collect(Collectors.joining(File.pathSeparator));
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xmx64m",
                  "-cp",
                  classPath,
                  SmallHeapChildWorker.class.getName(),
                  NATS.server().url(),
                  q)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      try {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "small".getBytes());
        Message m = handled.nextMessage(Duration.ofSeconds(60));
        assertThat(m).as("the child worker started and handled the message in 64 MiB").isNotNull();
        assertThat(new String(m.getData(), StandardCharsets.UTF_8)).isEqualTo("small");
        assertThat(child.isAlive()).isTrue();
      } finally {
        child.destroyForcibly();
        child.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A context that changes one thing and delegates the rest, as a middleware would write it. */
  static final class TenantContext implements MessageContext {
    private final MessageContext d;

    TenantContext(MessageContext d) {
      this.d = d;
    }

    String tenant() {
      return "acme";
    }

    @Override
    public String queue() {
      return d.queue();
    }

    @Override
    public String messageId() {
      return d.messageId();
    }

    @Override
    public long attempt() {
      return d.attempt();
    }

    @Override
    public String type() {
      return d.type();
    }

    @Override
    public int version() {
      return d.version();
    }

    @Override
    public long streamSequence() {
      return d.streamSequence();
    }

    @Override
    public String traceId() {
      return d.traceId();
    }

    @Override
    public String spanId() {
      return d.spanId();
    }

    @Override
    public String traceparent() {
      return d.traceparent();
    }

    @Override
    public Map<String, String> headers() {
      return d.headers();
    }

    @Override
    public List<String> header(String name) {
      return d.header(name);
    }

    @Override
    public byte[] payload() {
      return d.payload();
    }

    @Override
    public Object value() {
      return d.value();
    }

    @Override
    public String workerId() {
      return d.workerId();
    }
  }

  @Test
  void middlewareWrappingTheContextFailedEveryMessageWithClassCastException() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      List<String> seen = new CopyOnWriteArrayList<>();
      Middleware tenant = next -> ctx -> next.proceed(new TenantContext(ctx));
      try (Worker w =
          worker(Sluice.using(nc), q)
              .middleware(tenant)
              .handle(
                  JOB,
                  (s, ctx) ->
                      seen.add(s + "@" + ((TenantContext) ctx).tenant() + "/" + ctx.value()))
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "order".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
        // Each message used to fail, be retried, then be dead-lettered as max-attempts.
        assertThat(w.retriedCount()).isZero();
        assertThat(w.deadLetteredCount()).isZero();
      }
      assertThat(seen).containsExactly("order@acme/order");
    }
  }

  @Test
  void concurrentClosesBothRanTheShutdown() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Worker w = worker(Sluice.using(nc), q).handle(JOB, (s, c) -> {}).start();
      CountDownLatch go = new CountDownLatch(1);
      // Own threads: the common pool has one thread on a 2-core machine, which would serialize.
      ExecutorService callers = Executors.newFixedThreadPool(4);
      List<CompletableFuture<Health.State>> closes =
          List.of(1, 2, 3, 4).stream()
              .map(
                  i ->
                      CompletableFuture.supplyAsync(
                          () -> {
                            try {
                              go.await();
                            } catch (InterruptedException e) {
                              throw new IllegalStateException(e);
                            }
                            w.close();
                            return w.health().state();
                          },
                          callers))
              .toList();
      go.countDown();
      for (CompletableFuture<Health.State> c : closes) {
        // Every caller returns only once the worker has stopped, not while another still drains.
        assertThat(c.get(60, TimeUnit.SECONDS)).isEqualTo(Health.State.STOPPED);
      }
      // Twice would NAK in-flight work twice, mint owed credits twice and delete the advert twice.
      assertThat(w.shutdownRuns()).isEqualTo(1);
      w.close();
      assertThat(w.shutdownRuns()).isEqualTo(1);
      callers.shutdownNow();
    }
  }

  /**
   * The handler finished, the id could not be recorded (the shared store had no quorum), the worker
   * acked anyway, the ack was lost too, and the redelivery ran the handler a second time. The
   * record now comes before the ack: while it fails the message stays unacked and with this worker
   * (AckProgress, so no redelivery past the ack wait), and it is acked once the record landed. If
   * the worker acked before recording, the backlog would drop to 0 while the store still failed; if
   * it stopped sending progress, the server would redeliver after the 1 s ack wait and the handler
   * would run twice. The hold has no bound by default ({@code IdempotencyHoldTest} holds past the
   * old one on the shared store).
   */
  @Test
  void handlerRanTwiceWhenTheProcessedRecordFailedAndTheAckWasLost() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      QueueSpec spec =
          QueueSpec.builder(NATS.uniqueName("q")).ackWait(Duration.ofSeconds(1)).build();
      Sluice.using(nc).provision(spec);
      String q = spec.queue();
      FlakyStore store = new FlakyStore();
      AtomicInteger runs = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .idempotencyStore(store)
              .handle(JOB, (s, c) -> runs.incrementAndGet())
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> store.failedMarks.get() >= 3);
        // Longer than two ack waits: kept, not acked and not redelivered while the record fails.
        await()
            .during(Duration.ofMillis(2500))
            .atMost(Duration.ofSeconds(5))
            .until(() -> runs.get() == 1 && Queues.backlog(nc, q) == 1 && w.processedCount() == 0);
        assertThat(w.health().state()).isEqualTo(Health.State.FAILING);

        store.failing.set(false);

        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> Queues.backlog(nc, q) == 0 && w.processedCount() == 1);
        assertThat(store.recorded).hasSize(1);
        assertThat(runs.get()).isEqualTo(1);
        assertThat(w.health().state()).isEqualTo(Health.State.RUNNING);
      }
    }
  }

  /**
   * From nats-server 2.11 a KV create of an existing key fails with error 10164, not 10071: the
   * shared store took a late completion (another worker had recorded the id first) for an
   * unreachable store, and the worker kept the message retrying for the whole record bound. If the
   * code were wrong, the second record would throw instead of returning false.
   */
  @Test
  void sharedStoreTookAnExistingRecordForAFailureOnNewerServers() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      // Two stores with their own local caches, as two workers have.
      IdempotencyStore first = IdempotencyStore.jetStreamKv(nc, 10, Duration.ofHours(1));
      IdempotencyStore second = IdempotencyStore.jetStreamKv(nc, 10, Duration.ofHours(1));
      String key = q + ".m-1";
      assertThat(first.markProcessed(key, "w1")).isTrue();
      assertThat(second.markProcessed(key, "w2")).isFalse();
      assertThat(second.isProcessed(key)).isTrue();
    }
  }

  /** A user's store (a legal extension) whose writes fail until the test lets them through. */
  static final class FlakyStore implements IdempotencyStore {
    final AtomicBoolean failing = new AtomicBoolean(true);
    final AtomicInteger failedMarks = new AtomicInteger();
    final Map<String, String> recorded = new ConcurrentHashMap<>();

    @Override
    public boolean isProcessed(String key) {
      return recorded.containsKey(key);
    }

    @Override
    public boolean markProcessed(String key, String workerId) {
      if (failing.get()) {
        failedMarks.incrementAndGet();
        throw new SluiceException("store unreachable (test)");
      }
      return recorded.putIfAbsent(key, workerId) == null;
    }
  }
}
