package dev.sluice;

import dev.sluice.internal.credit.Capacity;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.worker.WorkerRuntime;
import dev.sluice.internal.worker.WorkerSettings;
import dev.sluice.spi.IdempotencyStore;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** Turns a validated {@link Worker.Builder} into the runtime's settings and starts the worker. */
final class WorkerStart {
  private WorkerStart() {}

  static Worker start(Worker.Builder b) {
    String id = b.workerId != null ? b.workerId : defaultId();
    ExecutorService owned = null;
    Executor exec = b.executor;
    if (exec == null) {
      AtomicInteger n = new AtomicInteger();
      owned =
          Executors.newFixedThreadPool(
              b.concurrency,
              r -> {
                Thread t = new Thread(r, "sluice-handler-" + b.queue + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
      exec = owned;
    }
    IdempotencyStore store = b.idempotency;
    if (store == null) {
      store =
          b.sharedIdempotency
              ? IdempotencyStore.jetStreamKv(b.nc, 100_000, Duration.ofHours(1))
              : IdempotencyStore.local(100_000, Duration.ofHours(1));
    }
    Map<String, Map<Integer, WorkerSettings.Registration<?>>> hs = new LinkedHashMap<>();
    b.handlers.forEach((k, v) -> hs.put(k, Map.copyOf(v)));
    Map<String, Map<Integer, Upcaster>> ups = new HashMap<>();
    b.upcasters.forEach((k, v) -> ups.put(k, Map.copyOf(v)));
    WorkerSettings settings =
        new WorkerSettings(
            b.queue,
            id,
            Map.copyOf(hs),
            Map.copyOf(ups),
            List.copyOf(b.middleware),
            b.concurrency,
            b.prefetch,
            new Capacity(b.concurrency, b.prefetch, b.capacity.target(), b.capacity.maxCapacity()),
            b.backoff,
            new Classifier.Limits(
                b.deadLetter.maxAttempts(),
                b.deadLetter.maxDeliveries(),
                b.deadLetter.grace(),
                b.deadLetter.graceNakDelay(),
                b.maxPayloadBytes),
            b.handlerTimeout,
            store,
            b.ackUnrecordedAfter,
            exec,
            b.heartbeat,
            b.advertTtl,
            b.auditInterval,
            b.breaker,
            b.pushback,
            b.shutdownGrace,
            b.meterRegistry == null
                ? null
                : Metrics.micrometer(b.meterRegistry, b.queue, "worker", id),
            Clock.system(),
            b.outcomes);
    try {
      return new Worker(new WorkerRuntime(b.nc, settings), owned);
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
