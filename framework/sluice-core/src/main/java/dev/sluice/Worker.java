package dev.sluice;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.worker.WorkerRuntime;
import dev.sluice.internal.worker.WorkerSettings;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.spi.Middleware;
import dev.sluice.spi.OutcomeListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;

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
 *     .deadLetter(DeadLetterPolicy.builder().maxAttempts(8).build())
 *     .start();
 * }</pre>
 */
public final class Worker implements AutoCloseable {
  private final WorkerRuntime runtime;
  private final ExecutorService ownedExecutor;

  Worker(WorkerRuntime runtime, ExecutorService ownedExecutor) {
    this.runtime = runtime;
    this.ownedExecutor = ownedExecutor;
  }

  /** Health for readiness and liveness endpoints; never throws. */
  public Health health() {
    return runtime.health();
  }

  /** This worker's id, as in its capacity advert and in dead-letter records. */
  public String workerId() {
    return runtime.workerId();
  }

  /** Messages handled successfully since start. */
  public long processedCount() {
    return runtime.processedCount();
  }

  /** Deliveries of already-processed messages acked without running a handler. */
  public long duplicateCount() {
    return runtime.duplicateCount();
  }

  /** Failed attempts that were NAKed for a retry. */
  public long retriedCount() {
    return runtime.retriedCount();
  }

  /** Messages dead-lettered since start. */
  public long deadLetteredCount() {
    return runtime.deadLetteredCount();
  }

  /**
   * The capacity this worker advertises right now; below {@link #nominalCapacity()} while lowered
   * by pushback.
   */
  public int advertisedCapacity() {
    return runtime.advertisedCapacity();
  }

  /** The capacity this worker would advertise without pushback (0 while not taking work). */
  public int nominalCapacity() {
    return runtime.nominalCapacity();
  }

  /** Handler runs that threw {@link DownstreamOverloadedException} since start. */
  public long pushbackCount() {
    return runtime.pushbackCount();
  }

  /** True while this worker holds the queue's reconciler lease. */
  public boolean isReconciler() {
    return runtime.isReconciler();
  }

  /** The steps of this worker's chain, in order (for tests). */
  List<String> steps() {
    return runtime.steps();
  }

  /** How many times the shutdown sequence ran (for tests). */
  int shutdownRuns() {
    return runtime.shutdownRuns();
  }

  /**
   * Shuts down: stops pulling, lets in-flight handlers finish within the shutdown grace, NAKs the
   * rest, mints owed credits and withdraws the advert. Idempotent and thread-safe: the shutdown
   * runs once, and a concurrent call returns when it has finished.
   */
  @Override
  public void close() {
    runtime.close();
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
  }

  /**
   * Configures a {@link Worker}; validates every value as it is set, and cross-field rules in
   * {@link #start()}, so configuration errors never wait for the first message. Not thread-safe;
   * the worker it starts is.
   */
  public static final class Builder {
    final Connection nc;
    final String queue;
    String workerId;
    final Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers =
        new LinkedHashMap<>();
    final Map<String, Map<Integer, Upcaster>> upcasters = new HashMap<>();
    final List<Middleware> middleware = new ArrayList<>();
    OutcomeListener outcomes;
    int concurrency = 4;
    int prefetch = 4;
    CapacityPolicy capacity = CapacityPolicy.fixed();
    Backoff backoff = Backoff.defaults();
    DeadLetterPolicy deadLetter = DeadLetterPolicy.defaults();
    int maxPayloadBytes = 1024 * 1024;
    Duration handlerTimeout = Duration.ofSeconds(60);
    IdempotencyStore idempotency;
    boolean sharedIdempotency;
    Duration ackUnrecordedAfter;
    Executor executor;
    Duration heartbeat = Duration.ofSeconds(2);
    Duration advertTtl = Duration.ofSeconds(6);
    Duration auditInterval = Duration.ofSeconds(2);
    CircuitBreakerPolicy breaker = CircuitBreakerPolicy.defaults();
    PushbackPolicy pushback = PushbackPolicy.defaults();
    Duration shutdownGrace = Duration.ofSeconds(10);
    MeterRegistry meterRegistry;

    Builder(Connection nc, String queue) {
      this.nc = Objects.requireNonNull(nc, "connection");
      this.queue = Protocol.requireQueueName(queue);
    }

    /**
     * This worker's id; default {@code java-<pid>-<random>}.
     *
     * @throws IllegalArgumentException if {@code id} is not letters, digits, {@code _} and {@code
     *     -}
     */
    public Builder workerId(String id) {
      this.workerId = Protocol.requireId("workerId", id);
      return this;
    }

    /**
     * Handles payloads of the codec's type and version with {@code handler}.
     *
     * @throws IllegalArgumentException if a handler for this type and version is already set
     */
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

    /**
     * Turns {@code type} at {@code fromVersion} into {@code fromVersion + 1} before handling;
     * upcasters chain (v1 to v2 to v3) until a version with a handler.
     *
     * @throws IllegalArgumentException if {@code fromVersion < 1}
     */
    public Builder upcast(String type, int fromVersion, Upcaster upcaster) {
      Objects.requireNonNull(type, "type");
      if (fromVersion < 1) {
        throw new IllegalArgumentException("fromVersion must be >= 1, got " + fromVersion);
      }
      upcasters
          .computeIfAbsent(type, t -> new HashMap<>())
          .put(fromVersion, Objects.requireNonNull(upcaster, "upcaster"));
      return this;
    }

    /**
     * Adds a middleware around the handler; the first added runs outermost. Its {@code wrap} is
     * called once, in {@link #start()}.
     */
    public Builder middleware(Middleware m) {
      middleware.add(Objects.requireNonNull(m, "middleware"));
      return this;
    }

    /**
     * Tells {@code listener} how each delivery was settled (processed, retrying, dead-lettered);
     * default none. Its exceptions are logged and ignored.
     *
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder outcomeListener(OutcomeListener listener) {
      this.outcomes = Objects.requireNonNull(listener, "outcomeListener");
      return this;
    }

    /**
     * Handlers running at once; default 4.
     *
     * @throws IllegalArgumentException if {@code n} is not in [1, 4096]
     */
    public Builder concurrency(int n) {
      this.concurrency = Policies.inRange("concurrency", n, 1, 4096);
      return this;
    }

    /**
     * Messages pulled ahead of free handlers; default 4.
     *
     * @throws IllegalArgumentException if {@code n} is not in [1, 4096]
     */
    public Builder prefetch(int n) {
      this.prefetch = Policies.inRange("prefetch", n, 1, 4096);
      return this;
    }

    /** What capacity to advertise; default {@link CapacityPolicy#fixed()}. */
    public Builder capacity(CapacityPolicy policy) {
      this.capacity = Objects.requireNonNull(policy, "capacity");
      return this;
    }

    /** The delay before a failed message is retried; default {@link Backoff#defaults()}. */
    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /** When to give up on a message; default {@link DeadLetterPolicy#defaults()}. */
    public Builder deadLetter(DeadLetterPolicy policy) {
      this.deadLetter = Objects.requireNonNull(policy, "deadLetter");
      return this;
    }

    /**
     * Larger payloads are dead-lettered with {@code oversize}; default 1 MiB.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public Builder maxPayloadBytes(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxPayloadBytes must be >= 1, got " + n);
      }
      this.maxPayloadBytes = n;
      return this;
    }

    /**
     * A handler running longer is interrupted and its attempt fails (and is retried); default 60 s.
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    public Builder handlerTimeout(Duration timeout) {
      this.handlerTimeout = Policies.positive("handlerTimeout", timeout);
      return this;
    }

    /**
     * Where processed ids are remembered; default the local store of the last 100k ids, each for at
     * most 1 h ({@link IdempotencyStore#local}).
     *
     * @throws IllegalStateException if {@link #sharedIdempotency()} was called
     */
    public Builder idempotencyStore(IdempotencyStore store) {
      Objects.requireNonNull(store, "idempotencyStore");
      if (sharedIdempotency) {
        throw new IllegalStateException("sharedIdempotency() was already set");
      }
      this.idempotency = store;
      return this;
    }

    /**
     * Uses the shared KV store {@code sluice-processed} behind the local cache. A finished message
     * whose id the store cannot record is held until it can, with the worker FAILING meanwhile; see
     * {@link #ackUnrecordedAfter}.
     *
     * @throws IllegalStateException if {@link #idempotencyStore} was called
     */
    public Builder sharedIdempotency() {
      if (idempotency != null) {
        throw new IllegalStateException("idempotencyStore was already set to " + idempotency);
      }
      this.sharedIdempotency = true;
      return this;
    }

    /**
     * Acks a finished message whose processed id could not be recorded after {@code bound}, instead
     * of holding it until the idempotency store answers (the default).
     *
     * <p>With an idempotency store, the worker records a message's id after its handler succeeded
     * and before it acks. While the store fails, the worker <em>holds</em> the message: it keeps it
     * unacked and sends progress, so the server redelivers it to no one, retries the record with
     * back-off (at most a second apart), acks it once the record lands, and reports {@code FAILING}
     * in {@link Worker#health()} with the store's error. That is fail closed: a finished message is
     * never acked unrecorded, because a paused or partitioned server that refuses the record loses
     * the ack too, and the redelivery would run the handler again. The price is a handler thread
     * and a credit per held message for as long as the store is down.
     *
     * <p>Teams that prefer throughput to at-most-once effects while the store is down can bound the
     * hold: after {@code bound} the message is acked anyway, logged at WARN with its id; if that
     * ack is lost too, its handler may run again. A bound shorter than a few ack waits turns short
     * store outages into possible duplicates.
     *
     * @throws IllegalArgumentException if {@code bound} is not positive
     */
    public Builder ackUnrecordedAfter(Duration bound) {
      this.ackUnrecordedAfter = Policies.positive("ackUnrecordedAfter", bound);
      return this;
    }

    /**
     * Runs handlers on this executor, which the worker does not shut down; default a fixed pool of
     * {@code concurrency} daemon threads, shut down by {@link Worker#close()}. At most {@code
     * concurrency + prefetch} tasks are submitted at once.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * How often the capacity advert is refreshed; default 2 s. {@link #start()} checks that the
     * advert ttl is at least twice this.
     *
     * @throws IllegalArgumentException if {@code heartbeat} is not positive
     */
    public Builder heartbeat(Duration heartbeat) {
      this.heartbeat = Policies.positive("heartbeat", heartbeat);
      return this;
    }

    /**
     * How long an advert lives without a refresh (a silent worker's capacity leaves the window);
     * default 6 s.
     *
     * @throws IllegalArgumentException if {@code ttl} is not positive
     */
    public Builder advertTtl(Duration ttl) {
      this.advertTtl = Policies.positive("advertTtl", ttl);
      return this;
    }

    /**
     * Lets this worker become the queue's reconciler, auditing every {@code auditInterval}; the
     * default, every 2 s.
     *
     * @throws IllegalArgumentException if {@code auditInterval} is not positive
     */
    public Builder reconciler(Duration auditInterval) {
      this.auditInterval = Policies.positive("auditInterval", auditInterval);
      return this;
    }

    /** Never lets this worker become the queue's reconciler. */
    public Builder noReconciler() {
      this.auditInterval = null;
      return this;
    }

    /**
     * When to stop pulling because the handler fails for most messages; default {@link
     * CircuitBreakerPolicy#defaults()}; {@link CircuitBreakerPolicy#disabled()} never opens.
     */
    public Builder circuitBreaker(CircuitBreakerPolicy policy) {
      this.breaker = Objects.requireNonNull(policy, "circuitBreaker");
      return this;
    }

    /**
     * How the advertised capacity follows {@link DownstreamOverloadedException}s (AIMD); default
     * {@link PushbackPolicy#defaults()} (on: it changes nothing until a handler throws one); {@link
     * PushbackPolicy#disabled()} keeps the capacity fixed. {@link #start()} checks that the floor
     * is at most the configured capacity.
     */
    public Builder pushback(PushbackPolicy policy) {
      this.pushback = Objects.requireNonNull(policy, "pushback");
      return this;
    }

    /**
     * How long shutdown waits for in-flight handlers before NAKing them; default 10 s.
     *
     * @throws IllegalArgumentException if {@code grace} is not positive
     */
    public Builder shutdownGrace(Duration grace) {
      this.shutdownGrace = Policies.positive("shutdownGrace", grace);
      return this;
    }

    /**
     * Records metrics on this Micrometer registry; default none (and no metrics step in the chain).
     * Every meter is tagged {@code queue} and {@code worker} (this worker's id), so several workers
     * of one queue can share a registry; the gauges are removed when the worker closes. Names and
     * tags: docs/METRICS.md. Micrometer is an optional dependency: a worker that never calls this
     * runs without it.
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /**
     * Validates, assembles the chain and starts pulling.
     *
     * @throws IllegalStateException if no handler is set, an upcaster's type has no handler, the
     *     advert ttl is under twice the heartbeat, or a middleware returns null from {@code wrap}
     * @throws SluiceException if the queue is not provisioned or cannot be read
     */
    public Worker start() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException("no handler: call handle(codec, handler) first");
      }
      for (var e : upcasters.entrySet()) {
        if (!handlers.containsKey(e.getKey())) {
          throw new IllegalStateException("upcaster for " + e.getKey() + " but no handler for it");
        }
      }
      if (advertTtl.compareTo(heartbeat.multipliedBy(2)) < 0) {
        throw new IllegalStateException(
            "advertTtl (" + advertTtl + ") must be >= 2 x heartbeat (" + heartbeat + ")");
      }
      int configured = capacity.target() == null ? concurrency + prefetch : concurrency;
      if (pushback.enabled() && pushback.floor() > configured) {
        throw new IllegalStateException(
            "pushback floor ("
                + pushback.floor()
                + ") must be <= the worker's capacity ("
                + configured
                + (capacity.target() == null
                    ? " = concurrency + prefetch"
                    : " = concurrency, the least a latency target advertises")
                + "): lower the floor or raise concurrency");
      }
      return WorkerStart.start(this);
    }
  }
}
