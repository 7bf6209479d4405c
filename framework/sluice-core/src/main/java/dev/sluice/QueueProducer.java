package dev.sluice;

import dev.sluice.internal.producer.ProducerEngine;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Publishes work to one queue, spending one credit per message, so the backlog never outgrows what
 * the workers advertise (protocol §6). Thread-safe; one instance per queue per process is enough.
 * Close it to return unspent credits.
 *
 * <pre>{@code
 * try (QueueProducer producer = sluice.producer("orders").build()) {
 *   SendResult r = producer.send(OutgoingMessage.of(ORDER_CODEC, order));
 * }
 * }</pre>
 */
public final class QueueProducer implements AutoCloseable {
  private final ProducerEngine engine;
  private final Duration acquireTimeout;

  private QueueProducer(ProducerEngine engine, Duration acquireTimeout) {
    this.engine = engine;
    this.acquireTimeout = acquireTimeout;
  }

  /**
   * Sends and waits for the work stream's acknowledgement. Blocks for a credit up to the acquire
   * timeout.
   *
   * @throws CreditTimeoutException no credit came in time; {@link CreditTimeoutException#reason()}
   *     says why
   * @throws UnsupportedVersionException no live worker handles the type and version
   * @throws PublishException the message could not be stored
   */
  public SendResult send(OutgoingMessage message) {
    return join(sendAsync(message));
  }

  /**
   * Sends without blocking the caller: the future completes when the message is stored, or fails
   * with the exceptions {@link #send} throws. Waiting for credit happens on Sluice's threads.
   */
  public CompletableFuture<SendResult> sendAsync(OutgoingMessage message) {
    return engine.sendAsync(Objects.requireNonNull(message, "message"), acquireTimeout);
  }

  /**
   * Sends if a credit comes within {@code wait}; returns empty instead of throwing {@link
   * CreditTimeoutException}.
   */
  public Optional<SendResult> trySend(OutgoingMessage message, Duration wait) {
    try {
      return Optional.of(join(engine.sendAsync(message, wait)));
    } catch (CreditTimeoutException e) {
      return Optional.empty();
    }
  }

  /** Sends every message, concurrently, and waits for all; results are in input order. */
  public List<SendResult> sendBatch(List<OutgoingMessage> messages) {
    List<CompletableFuture<SendResult>> fs = new ArrayList<>();
    for (OutgoingMessage m : messages) {
      fs.add(sendAsync(m));
    }
    List<SendResult> out = new ArrayList<>();
    for (CompletableFuture<SendResult> f : fs) {
      out.add(join(f));
    }
    return out;
  }

  /** Unspent credits this producer holds right now. */
  public long creditsHeld() {
    return engine.heldUnspent();
  }

  /** Sends waiting for a credit right now. */
  public int waiting() {
    return engine.waitingCount();
  }

  /** Messages stored so far. */
  public long sentTotal() {
    return engine.sentTotal();
  }

  public String producerId() {
    return engine.producerId();
  }

  /** Stops acquiring, fails waiting sends, returns held credits. Idempotent. */
  @Override
  public void close() {
    engine.close();
  }

  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (CompletionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SluiceException("interrupted while sending", e);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof SluiceException se) {
      return se;
    }
    return new SluiceException(String.valueOf(t), t);
  }

  /** Configures a {@link QueueProducer}; validates every value as it is set. Not thread-safe. */
  public static final class Builder {
    private final Connection nc;
    private final String queue;
    private String producerId = "java-" + UUID.randomUUID().toString().substring(0, 8);
    private int prefetch = 4;
    private Duration acquireTimeout = Duration.ofSeconds(30);
    private Duration pullExpiry = Duration.ofSeconds(1);
    private Duration reportInterval = Duration.ofMillis(250);
    private Duration idleReturn = Duration.ofMillis(500);
    private Duration publishTimeout = Duration.ofSeconds(5);
    private VersionPolicy versionPolicy = VersionPolicy.FAIL;
    private Object meterRegistry;

    Builder(Connection nc, String queue) {
      this.nc = Objects.requireNonNull(nc, "connection");
      this.queue = Protocol.requireQueueName(queue);
    }

    /** This producer's id (letters, digits, _ -); default {@code java-<random>}. */
    public Builder producerId(String id) {
      this.producerId = Protocol.requireId("producerId", id);
      return this;
    }

    /**
     * Outstanding single-token pulls (default 4). Use the same value for every producer of a queue:
     * the server serves waiting pulls in turn, so prefetch is a producer's weight.
     */
    public Builder prefetch(int prefetch) {
      if (prefetch < 1 || prefetch > 64) {
        throw new IllegalArgumentException("prefetch must be in [1, 64], got " + prefetch);
      }
      this.prefetch = prefetch;
      return this;
    }

    /** How long a send waits for a credit before {@link CreditTimeoutException}; default 30 s. */
    public Builder acquireTimeout(Duration timeout) {
      this.acquireTimeout = positive("acquireTimeout", timeout);
      return this;
    }

    /** Expiry of one credit pull request; default 1 s. */
    public Builder pullExpiry(Duration expiry) {
      this.pullExpiry = positive("pullExpiry", expiry);
      return this;
    }

    /** How often held credits are reported; default 250 ms. */
    public Builder reportInterval(Duration interval) {
      this.reportInterval = positive("reportInterval", interval);
      return this;
    }

    /** How long an unused held token is kept before it goes back; default 500 ms. */
    public Builder idleReturn(Duration idle) {
      this.idleReturn = positive("idleReturn", idle);
      return this;
    }

    /** How long one publish attempt waits for its PubAck; default 5 s. */
    public Builder publishTimeout(Duration timeout) {
      this.publishTimeout = positive("publishTimeout", timeout);
      return this;
    }

    /** What to do when no live worker handles a type and version; default FAIL. */
    public Builder versionPolicy(VersionPolicy policy) {
      this.versionPolicy = Objects.requireNonNull(policy, "versionPolicy");
      return this;
    }

    /** Records metrics on this {@code io.micrometer.core.instrument.MeterRegistry}. */
    public Builder meterRegistry(Object registry) {
      if (registry != null
          && !registry.getClass().getName().startsWith("io.micrometer")
          && !isMeterRegistry(registry)) {
        throw new IllegalArgumentException("meterRegistry must be a Micrometer MeterRegistry");
      }
      this.meterRegistry = registry;
      return this;
    }

    /** Connects and starts the producer. */
    public QueueProducer build() {
      ProducerEngine engine =
          new ProducerEngine(
              nc,
              new ProducerEngine.Settings(
                  queue,
                  producerId,
                  prefetch,
                  acquireTimeout,
                  pullExpiry,
                  reportInterval,
                  reportInterval.multipliedBy(12),
                  idleReturn,
                  publishTimeout,
                  versionPolicy,
                  Metrics.micrometer(meterRegistry)));
      return new QueueProducer(engine, acquireTimeout);
    }

    static boolean isMeterRegistry(Object o) {
      for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
        if (c.getName().equals("io.micrometer.core.instrument.MeterRegistry")) {
          return true;
        }
      }
      return false;
    }

    static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be > 0, got " + d);
      }
      return d;
    }
  }
}
