package dev.sluice.internal.worker;

import dev.sluice.Backoff;
import dev.sluice.Handler;
import dev.sluice.Upcaster;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.spi.Middleware;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/** Everything a worker runs with, validated by {@code Worker.Builder}. */
public record WorkerSettings(
    String queue,
    String workerId,
    Map<String, Map<Integer, Registration<?>>> handlers,
    Map<String, Map<Integer, Upcaster>> upcasters,
    List<Middleware> middleware,
    int concurrency,
    int prefetch,
    Duration latencyTarget,
    int maxCapacity,
    Backoff backoff,
    Classifier.Limits limits,
    Duration handlerTimeout,
    IdempotencyStore idempotency,
    Executor executor,
    Duration heartbeat,
    Duration advertTtl,
    boolean reconciler,
    Duration auditInterval,
    boolean circuitBreaker,
    int breakerFailures,
    int breakerWindow,
    Duration breakerDelay,
    Duration shutdownGrace,
    Metrics metrics) {

  /** One handler for one type and version. */
  public record Registration<T>(Codec<T> codec, Handler<T> handler) {}
}
