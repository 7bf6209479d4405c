package dev.sluice;

import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.worker.WorkerEngine;
import dev.sluice.internal.worker.WorkerSettings;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.spi.Middleware;
import io.nats.client.Connection;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Does the work of one queue: pulls with bounded in-flight, runs typed handlers, and settles each
 * delivery with exactly one outcome: ack, retry (NAK with back-off) or dead-letter (protocol §7).
 * It advertises its capacity, replenishes credits and may act as the queue's reconciler.
 * Thread-safe.
 *
 * <pre>{@code
 * Worker worker = sluice.worker("orders")
 *     .handle(ORDER_V2, (order, ctx) -> ship(order))
 *     .upcast("acme.Order", 1, OrderUpcaster::v1ToV2)
 *     .concurrency(8)
 *     .start();
 * }</pre>
 */
public final class Worker implements AutoCloseable {
  private final WorkerEngine engine;
  private final ExecutorService ownedExecutor;

  private Worker(WorkerEngine engine, ExecutorService ownedExecutor) {
    this.engine = engine;
    this.ownedExecutor = ownedExecutor;
  }

  /** Health for readiness and liveness endpoints. */
  public Health health() {
    return engine.health();
  }

  public String workerId() {
    return engine.workerId();
  }

  /** Messages handled successfully since start. */
  public long processedCount() {
    return engine.processedCount();
  }

  /** Deliveries of already-processed messages acked without running a handler. */
  public long duplicateCount() {
    return engine.duplicateCount();
  }

  /** Failed attempts that were NAKed for a retry. */
  public long retriedCount() {
    return engine.retriedCount();
  }

  public long deadLetteredCount() {
    return engine.deadLetteredCount();
  }

  /** The capacity this worker advertises right now. */
  public int advertisedCapacity() {
    return engine.advertisedCapacity();
  }

  /** True while this worker holds the queue's reconciler lease. */
  public boolean isReconciler() {
    return engine.isReconciler();
  }

  /**
   * Shuts down: stops pulling, lets in-flight handlers finish within the shutdown grace, NAKs the
   * rest, mints owed credits and withdraws the advert. Idempotent.
   */
  @Override
  public void close() {
    engine.close();
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
  }

  /** Configures a {@link Worker}; validates every value as it is set. Not thread-safe. */
  public static final class Builder {
    private final Connection nc;
    private final String queue;
    private String workerId;
    private final Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers =
        new LinkedHashMap<>();
    private final Map<String, Map<Integer, Upcaster>> upcasters = new HashMap<>();
    private final List<Middleware> middleware = new ArrayList<>();
    private int concurrency = 4;
    private int prefetch = 4;
    private Duration latencyTarget;
    private int maxCapacity = 10_000;
    private Backoff backoff = Backoff.defaults();
    private int maxAttempts = 5;
    private int maxDeliveries = 10;
    private Duration grace = Duration.ofSeconds(25);
    private Duration graceDelay = Duration.ofSeconds(5);
    private int maxPayloadBytes = 1024 * 1024;
    private Duration handlerTimeout = Duration.ofSeconds(60);
    private IdempotencyStore idempotency;
    private boolean sharedIdempotency;
    private Executor executor;
    private Duration heartbeat = Duration.ofSeconds(2);
    private Duration advertTtl = Duration.ofSeconds(6);
    private boolean reconciler = true;
    private Duration auditInterval = Duration.ofSeconds(2);
    private boolean circuitBreaker = true;
    private int breakerFailures = 10;
    private int breakerWindow = 20;
    private Duration breakerDelay = Duration.ofSeconds(5);
    private Duration shutdownGrace = Duration.ofSeconds(10);
    private Object meterRegistry;

    Builder(Connection nc, String queue) {
      this.nc = Objects.requireNonNull(nc, "connection");
      this.queue = Protocol.requireQueueName(queue);
    }

    /** This worker's id (letters, digits, _ -); default {@code java-<pid>-<random>}. */
    public Builder workerId(String id) {
      this.workerId = Protocol.requireId("workerId", id);
      return this;
    }

    /** Handles payloads of the codec's type and version. */
    public <T> Builder handle(Codec<T> codec, Handler<T> handler) {
      Objects.requireNonNull(codec, "codec");
      Objects.requireNonNull(handler, "handler");
      var byVersion = handlers.computeIfAbsent(codec.type(), t -> new HashMap<>());
      if (byVersion.containsKey(codec.version())) {
        throw new IllegalArgumentException(
            "a handler for " + codec.type() + " version " + codec.version() + " is already set");
      }
      byVersion.put(codec.version(), new WorkerSettings.Registration<>(codec, handler));
      return this;
    }

    /** Turns {@code type} at {@code fromVersion} into {@code fromVersion + 1} before handling. */
    public Builder upcast(String type, int fromVersion, Upcaster upcaster) {
      if (fromVersion < 1) {
        throw new IllegalArgumentException("fromVersion < 1");
      }
      upcasters
          .computeIfAbsent(type, t -> new HashMap<>())
          .put(fromVersion, Objects.requireNonNull(upcaster, "upcaster"));
      return this;
    }

    /** Adds a middleware; the first added runs outermost. */
    public Builder middleware(Middleware m) {
      middleware.add(Objects.requireNonNull(m, "middleware"));
      return this;
    }

    /** Handlers running at once (default 4). */
    public Builder concurrency(int n) {
      if (n < 1 || n > 4096) {
        throw new IllegalArgumentException("concurrency must be in [1, 4096], got " + n);
      }
      this.concurrency = n;
      return this;
    }

    /** Messages pulled ahead of free handlers (default 4). */
    public Builder prefetch(int n) {
      if (n < 1 || n > 4096) {
        throw new IllegalArgumentException("prefetch must be in [1, 4096], got " + n);
      }
      this.prefetch = n;
      return this;
    }

    /**
     * Advertises {@code concurrency + rate × target} instead of {@code concurrency + prefetch}, so
     * a message waits about {@code target} in the queue (Little's law), at most {@code
     * maxCapacity}.
     */
    public Builder latencyTarget(Duration target, int maxCapacity) {
      this.latencyTarget = QueueProducer.Builder.positive("latencyTarget", target);
      if (maxCapacity < 1) {
        throw new IllegalArgumentException("maxCapacity < 1");
      }
      this.maxCapacity = maxCapacity;
      return this;
    }

    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /** Handler attempts before dead-lettering with {@code max-attempts} (default 5). */
    public Builder maxAttempts(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxAttempts < 1");
      }
      this.maxAttempts = n;
      return this;
    }

    /** Deliveries before dead-lettering with {@code max-deliveries} (default 10). */
    public Builder maxDeliveries(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxDeliveries < 1");
      }
      this.maxDeliveries = n;
      return this;
    }

    /** How long messages of unknown types or versions are left for other workers (default 25 s). */
    public Builder grace(Duration grace, Duration nakDelay) {
      this.grace = Objects.requireNonNull(grace, "grace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("grace < 0");
      }
      this.graceDelay = QueueProducer.Builder.positive("graceDelay", nakDelay);
      return this;
    }

    public Builder maxPayloadBytes(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxPayloadBytes < 1");
      }
      this.maxPayloadBytes = n;
      return this;
    }

    /** A handler running longer fails (and is retried); default 60 s. */
    public Builder handlerTimeout(Duration timeout) {
      this.handlerTimeout = QueueProducer.Builder.positive("handlerTimeout", timeout);
      return this;
    }

    /** Where processed ids are remembered (default a local Caffeine cache, 100k ids, 1 h). */
    public Builder idempotencyStore(IdempotencyStore store) {
      this.idempotency = Objects.requireNonNull(store, "idempotencyStore");
      return this;
    }

    /** Uses the shared KV store {@code sluice-processed} behind the local cache. */
    public Builder sharedIdempotency() {
      this.sharedIdempotency = true;
      return this;
    }

    /** Runs handlers on this executor (default: a fixed pool of {@code concurrency} threads). */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Advert refresh interval and time-to-live; ttl must be at least twice the heartbeat. */
    public Builder heartbeat(Duration heartbeat, Duration ttl) {
      QueueProducer.Builder.positive("heartbeat", heartbeat);
      QueueProducer.Builder.positive("ttl", ttl);
      if (ttl.compareTo(heartbeat.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException("advert ttl " + ttl + " < 2 x heartbeat " + heartbeat);
      }
      this.heartbeat = heartbeat;
      this.advertTtl = ttl;
      return this;
    }

    /** Whether this worker may become the reconciler, and how often it audits (default 2 s). */
    public Builder reconciler(boolean enabled, Duration auditInterval) {
      this.reconciler = enabled;
      this.auditInterval = QueueProducer.Builder.positive("auditInterval", auditInterval);
      return this;
    }

    /**
     * Opens the circuit after {@code failures} failures in the last {@code window} handler runs,
     * probing again after {@code delay} (default 10 of 20, 5 s).
     */
    public Builder circuitBreaker(int failures, int window, Duration delay) {
      if (failures < 1 || window < failures) {
        throw new IllegalArgumentException("need 1 <= failures <= window");
      }
      this.circuitBreaker = true;
      this.breakerFailures = failures;
      this.breakerWindow = window;
      this.breakerDelay = QueueProducer.Builder.positive("delay", delay);
      return this;
    }

    /** Never opens a circuit. */
    public Builder noCircuitBreaker() {
      this.circuitBreaker = false;
      return this;
    }

    /** How long shutdown waits for in-flight handlers before NAKing them (default 10 s). */
    public Builder shutdownGrace(Duration grace) {
      this.shutdownGrace = QueueProducer.Builder.positive("shutdownGrace", grace);
      return this;
    }

    /** Records metrics on this {@code io.micrometer.core.instrument.MeterRegistry}. */
    public Builder meterRegistry(Object registry) {
      if (registry != null && !QueueProducer.Builder.isMeterRegistry(registry)) {
        throw new IllegalArgumentException("meterRegistry must be a Micrometer MeterRegistry");
      }
      this.meterRegistry = registry;
      return this;
    }

    /** Validates, connects and starts pulling. */
    public Worker start() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException("no handler: call handle(codec, handler) first");
      }
      for (var e : upcasters.entrySet()) {
        if (!handlers.containsKey(e.getKey())) {
          throw new IllegalStateException("upcaster for " + e.getKey() + " but no handler for it");
        }
      }
      if (maxDeliveries - maxAttempts
          < Math.ceil((double) grace.toMillis() / graceDelay.toMillis())) {
        throw new IllegalStateException(
            "maxDeliveries ("
                + maxDeliveries
                + ") - maxAttempts ("
                + maxAttempts
                + ") must be >= grace / graceDelay ("
                + grace
                + " / "
                + graceDelay
                + "), so grace NAKs alone never exhaust a message's deliveries");
      }
      String id = workerId != null ? workerId : defaultId();
      ExecutorService owned = null;
      Executor exec = executor;
      if (exec == null) {
        AtomicInteger n = new AtomicInteger();
        owned =
            Executors.newFixedThreadPool(
                concurrency,
                r -> {
                  Thread t = new Thread(r, "sluice-handler-" + queue + "-" + n.incrementAndGet());
                  t.setDaemon(true);
                  return t;
                });
        exec = owned;
      }
      IdempotencyStore store = idempotency;
      if (store == null) {
        store =
            sharedIdempotency
                ? IdempotencyStore.jetStreamKv(nc, 100_000, Duration.ofHours(1))
                : IdempotencyStore.caffeine(100_000, Duration.ofHours(1));
      }
      Map<String, Map<Integer, WorkerSettings.Registration<?>>> hs = new LinkedHashMap<>();
      handlers.forEach((k, v) -> hs.put(k, Map.copyOf(v)));
      Map<String, Map<Integer, Upcaster>> ups = new HashMap<>();
      upcasters.forEach((k, v) -> ups.put(k, Map.copyOf(v)));
      WorkerSettings settings =
          new WorkerSettings(
              queue,
              id,
              Map.copyOf(hs),
              Map.copyOf(ups),
              List.copyOf(middleware),
              concurrency,
              prefetch,
              latencyTarget,
              maxCapacity,
              backoff,
              new Classifier.Limits(maxAttempts, maxDeliveries, grace, graceDelay, maxPayloadBytes),
              handlerTimeout,
              store,
              exec,
              heartbeat,
              advertTtl,
              reconciler,
              auditInterval,
              circuitBreaker,
              circuitBreaker ? breakerFailures : Integer.MAX_VALUE - 1,
              circuitBreaker ? breakerWindow : Integer.MAX_VALUE,
              breakerDelay,
              shutdownGrace,
              Metrics.micrometer(meterRegistry));
      try {
        return new Worker(new WorkerEngine(nc, settings), owned);
      } catch (RuntimeException e) {
        if (owned != null) {
          owned.shutdownNow();
        }
        throw e;
      }
    }

    private static String defaultId() {
      String pid = Long.toString(ManagementFactory.getRuntimeMXBean().getPid());
      return "java-" + pid + "-" + UUID.randomUUID().toString().substring(0, 6);
    }
  }
}
