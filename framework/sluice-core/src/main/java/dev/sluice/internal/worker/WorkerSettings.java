package dev.sluice.internal.worker;

import dev.sluice.Backoff;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.Handler;
import dev.sluice.PushbackPolicy;
import dev.sluice.Upcaster;
import dev.sluice.internal.credit.Capacity;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.spi.Middleware;
import dev.sluice.spi.OutcomeListener;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Everything a worker runs with, validated by {@code Worker.Builder}. Nullable components mean "not
 * configured", and the chain then has no step for them: {@code idempotency} (no duplicate check),
 * {@code auditInterval} (never the reconciler), {@code metrics} (no metrics step), {@code
 * ackUnrecordedAfter} (a finished message whose id cannot be recorded is held until it is).
 */
public record WorkerSettings(
    String queue,
    String workerId,
    Map<String, Map<Integer, Registration<?>>> handlers,
    Map<String, Map<Integer, Upcaster>> upcasters,
    List<Middleware> middleware,
    int concurrency,
    int prefetch,
    Capacity capacity,
    Backoff backoff,
    Classifier.Limits limits,
    Duration handlerTimeout,
    IdempotencyStore idempotency,
    Duration ackUnrecordedAfter,
    Executor executor,
    Duration heartbeat,
    Duration advertTtl,
    Duration auditInterval,
    CircuitBreakerPolicy breaker,
    PushbackPolicy pushback,
    Duration shutdownGrace,
    Metrics metrics,
    Clock clock,
    OutcomeListener outcomes) {

  /** One handler for one type and version. */
  public record Registration<T>(Codec<T> codec, Handler<T> handler) {}

  /** True when this worker may become the queue's reconciler. */
  public boolean reconciler() {
    return auditInterval != null;
  }

  /** The metrics sink; a no-op without a registry. */
  public Metrics metricsOrNoop() {
    return metrics == null ? Metrics.NOOP : metrics;
  }
}
