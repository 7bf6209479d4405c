package dev.sluice.conformance;

import static dev.sluice.conformance.JavaPeer.emit;
import static dev.sluice.conformance.JavaPeer.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.Backoff;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.DeadLetterReason;
import dev.sluice.DownstreamOverloadedException;
import dev.sluice.Health;
import dev.sluice.MessageContext;
import dev.sluice.RejectMessageException;
import dev.sluice.Scheduler;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.spi.OutcomeListener;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code worker} role: a full Java worker (it runs the reconciler, audit interval 1 s) with one
 * JSON codec per version of each {@code --handles} range, until SIGTERM or SIGINT; then it closes
 * the worker (§7.6), prints {@code done} and exits 0.
 *
 * <p>{@code dead_lettered} and {@code nak} (reason {@code retry}) events come from the worker's
 * {@link OutcomeListener}. The listener is not told of grace NAKs of messages it does not handle,
 * so this peer never prints {@code nak} with reason {@code not-handled}. {@code processed} is
 * printed when the handler returns (the library acks right after).
 */
@Command(name = "worker", description = "Run a worker until SIGTERM.")
final class JavaWorker implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", required = true)
  String queue;

  @Option(names = "--worker-id", required = true)
  String id;

  @Option(names = "--concurrency", defaultValue = "4")
  int concurrency;

  @Option(names = "--prefetch", defaultValue = "4")
  int prefetch;

  @Option(names = "--work-ms", defaultValue = "0")
  int workMs;

  @Option(
      names = "--handles",
      defaultValue = JavaPeer.DEFAULT_TYPE + "@1-1",
      paramLabel = "TYPE@MIN-MAX[,...]")
  String handles;

  @Option(names = "--max-attempts", defaultValue = "3")
  int maxAttempts;

  @Option(names = "--backoff-initial-ms", defaultValue = "100")
  int backoffMs;

  @Option(names = "--grace-ms", defaultValue = "3000")
  long graceMs;

  @Option(names = "--grace-delay-ms", defaultValue = "500")
  long graceDelayMs;

  @Option(
      names = "--token-batch",
      defaultValue = "8",
      description =
          "Accepted for the contract and ignored: the Java worker reads the batch from the queue's"
              + " QueueSettings, which the runner provisions with the same value.")
  int tokenBatch;

  @Option(
      names = "--capacity",
      description = "Reached through prefetch = capacity - concurrency (at least 1).")
  Integer capacity;

  @Option(
      names = "--reconciler",
      description =
          "Run the reconciler (audit interval 1 s). Accepted for the contract: the Java peer"
              + " always runs it.")
  boolean reconciler;

  @Option(
      names = "--overloaded-for-ms",
      defaultValue = "0",
      description = "The handler answers overloaded for this long after start (§15.1).")
  long overloadedForMs;

  @Option(
      names = "--fail-first",
      defaultValue = "0",
      description =
          "The handler fails its first N runs, a failure the circuit breaker counts (§7.6).")
  long failFirst;

  @Option(
      names = "--circuit-breaker",
      paramLabel = "FAILURES,WINDOW,DELAY_MS",
      description = "The circuit breaker's settings (§7.6); default the library's.")
  String circuitBreaker;

  @Option(
      names = "--fire-schedules",
      description = "Also run a Scheduler that fires the queue's scheduled messages (§13).")
  boolean fireSchedules;

  /** {@code --circuit-breaker FAILURES,WINDOW,DELAY_MS}. */
  static CircuitBreakerPolicy breaker(String value) {
    String[] p = value.split(",", -1);
    try {
      if (p.length == 3) {
        return CircuitBreakerPolicy.builder()
            .failures(Integer.parseInt(p[0].trim()))
            .window(Integer.parseInt(p[1].trim()))
            .delay(Duration.ofMillis(Long.parseLong(p[2].trim())))
            .build();
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--circuit-breaker " + value + ": " + e.getMessage() + " (want e.g. 3,5,1000)", e);
    }
    throw new IllegalArgumentException(
        "--circuit-breaker " + value + ": want FAILURES,WINDOW,DELAY_MS, e.g. 3,5,1000");
  }

  /** A work payload. */
  record Work(long seq, String behavior) {}

  @Override
  public Integer call() throws Exception {
    if (capacity != null) {
      // The library advertises concurrency + prefetch; a fixed capacity is reached through
      // prefetch (it also bounds the messages in hand, as capacity does).
      prefetch = Math.max(1, capacity - concurrency);
    }
    int maxDeliveries =
        (int) Math.max(10, maxAttempts + (graceMs + graceDelayMs - 1) / graceDelayMs);

    AtomicLong processed = new AtomicLong();
    long overloadedUntil = System.nanoTime() + overloadedForMs * 1_000_000L;
    AtomicLong runs = new AtomicLong();
    Connection nc = JavaPeer.connect(server, "conformance-worker-" + id);
    Worker.Builder b =
        Sluice.using(nc)
            .worker(queue)
            .workerId(id)
            .concurrency(concurrency)
            .prefetch(prefetch)
            .deadLetter(
                DeadLetterPolicy.builder()
                    .maxAttempts(maxAttempts)
                    .maxDeliveries(maxDeliveries)
                    .grace(Duration.ofMillis(graceMs))
                    .graceNakDelay(Duration.ofMillis(graceDelayMs))
                    .build())
            .backoff(
                Backoff.exponential(Duration.ofMillis(backoffMs), 2.0, Duration.ofSeconds(60), 0.2))
            .reconciler(Duration.ofSeconds(1))
            .outcomeListener(events(id));
    if (circuitBreaker != null) {
      b.circuitBreaker(breaker(circuitBreaker));
    }
    for (String spec : handles.split(",")) {
      int at = spec.lastIndexOf('@');
      int dash = spec.indexOf('-', at);
      if (at <= 0 || dash < 0) {
        throw new IllegalArgumentException("--handles " + spec + ": want TYPE@MIN-MAX");
      }
      String type = spec.substring(0, at);
      int min = Integer.parseInt(spec.substring(at + 1, dash));
      int max = Integer.parseInt(spec.substring(dash + 1));
      for (int v = min; v <= max; v++) {
        b.handle(
            codec(type, v),
            (Work w, MessageContext ctx) -> {
              if (workMs > 0) {
                // The contract's simulated work time (--work-ms), not a wait for anything.
                Thread.sleep(workMs);
              }
              if (System.nanoTime() - overloadedUntil < 0) {
                throw new DownstreamOverloadedException("--overloaded-for-ms"); // §15.1
              }
              if (runs.incrementAndGet() <= failFirst) {
                throw new IllegalStateException("--fail-first: the dependency is down"); // §7.6
              }
              switch (w.behavior()) {
                case "poison" -> throw new RejectMessageException("poison message " + w.seq());
                case "fail-once" -> {
                  if (ctx.attempt() <= 1) {
                    throw new IllegalStateException("fail-once: failing delivery 1");
                  }
                }
                default -> {}
              }
              processed.incrementAndGet();
              emit(
                  event("processed")
                      .put("id", id)
                      .put("msg_id", ctx.messageId())
                      .put("seq", w.seq())
                      .put("attempt", ctx.attempt())
                      .put("trace_id", ctx.traceId())
                      .put("type", ctx.type())
                      .put("version", ctx.version())
                      .put("lang", "java"));
            });
      }
    }
    CountDownLatch stop = new CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
    Worker worker = b.start();
    Scheduler scheduler =
        fireSchedules
            ? Sluice.using(nc).scheduler(queue).id(id).leaseInterval(Duration.ofMillis(500)).start()
            : null;
    emit(event("ready").put("role", "worker").put("id", id).put("lang", "java"));
    boolean failing = false;
    while (!stop.await(250, TimeUnit.MILLISECONDS)) {
      // The contract's health event (protocol §8.4): a change between FAILING and not.
      Health h = worker.health();
      boolean now = h.state() == Health.State.FAILING;
      if (now != failing) {
        failing = now;
        emit(
            now
                ? event("health").put("id", id).put("status", "failing").put("reason", h.detail())
                : event("health").put("id", id).put("status", "ok"));
      }
    }
    if (scheduler != null) {
      scheduler.close();
    }
    worker.close();
    emit(event("done").put("id", id).put("processed", processed.get()));
    nc.close();
    return 0;
  }

  /**
   * A JSON codec of {@link Work}: a decode error for anything but {"seq": int, "behavior": ...}.
   */
  static Codec<Work> codec(String type, int version) {
    return Codec.of(
        type,
        version,
        "application/json",
        w -> JavaPeer.body(w.seq(), w.behavior()),
        bytes -> {
          ObjectNode m = JsonLines.parseObject(bytes);
          JsonNode seq = m.get("seq");
          if (seq == null || !seq.isIntegralNumber() || !seq.canConvertToLong()) {
            throw new IllegalArgumentException("no integer seq");
          }
          JsonNode behavior = m.get("behavior");
          String b = behavior == null ? "ok" : behavior.isTextual() ? behavior.textValue() : null;
          if (!"ok".equals(b) && !"poison".equals(b) && !"fail-once".equals(b)) {
            throw new IllegalArgumentException("unknown behavior " + behavior);
          }
          return new Work(seq.longValue(), b);
        });
  }

  /**
   * Turns the worker's settled outcomes into the contract's {@code dead_lettered} and {@code nak}
   * events.
   */
  static OutcomeListener events(String workerId) {
    return new OutcomeListener() {
      @Override
      public void retrying(Settled d, Duration delay, Throwable failure) {
        emit(
            event("nak")
                .put("id", workerId)
                .put("msg_id", d.messageId())
                .put("attempt", d.attempt())
                .put("delay_ms", delay.toMillis())
                .put("reason", "retry"));
      }

      @Override
      public void deadLettered(Settled d, DeadLetterReason reason, String error) {
        emit(
            event("dead_lettered")
                .put("id", workerId)
                .put("msg_id", "?".equals(d.messageId()) ? null : d.messageId())
                .put("reason", reason.code())
                .put("attempt", d.attempt())
                .put("lang", "java"));
      }
    };
  }
}
