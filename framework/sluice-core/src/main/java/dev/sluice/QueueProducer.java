package dev.sluice;

import dev.sluice.internal.producer.ProducerRuntime;
import dev.sluice.internal.producer.ProducerSettings;
import dev.sluice.internal.schedule.ScheduleStore;
import dev.sluice.internal.schedule.ScheduleWriter;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.micrometer.core.instrument.MeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
  private final ProducerRuntime runtime;
  private final Duration acquireTimeout;
  private final ScheduleWriter schedules;

  private QueueProducer(
      ProducerRuntime runtime, Duration acquireTimeout, ScheduleWriter schedules) {
    this.runtime = runtime;
    this.acquireTimeout = acquireTimeout;
    this.schedules = schedules;
  }

  /**
   * Sends and waits for the work stream's acknowledgement. Blocks for a credit up to the acquire
   * timeout.
   *
   * @throws CreditTimeoutException no credit came in time; {@link CreditTimeoutException#reason()}
   *     says why
   * @throws UnsupportedVersionException no live worker handles the type and version
   * @throws MessageTooLargeException headers plus payload exceed the work stream's max message size
   *     or the server's max payload (PROTOCOL.md §2.2): refused at once, no credit spent
   * @throws PublishException the message could not be stored
   * @throws SluiceException the producer is closed, or the calling thread was interrupted
   * @throws NullPointerException {@code message} is null
   */
  public SendResult send(OutgoingMessage message) {
    return join(sendAsync(message));
  }

  /**
   * Sends without blocking the caller: the future completes when the message is stored, or fails
   * with the exceptions {@link #send} throws. Waiting for credit happens on Sluice's threads.
   *
   * @throws NullPointerException {@code message} is null
   */
  public CompletableFuture<SendResult> sendAsync(OutgoingMessage message) {
    return sendAsync(message, acquireTimeout);
  }

  private CompletableFuture<SendResult> sendAsync(OutgoingMessage message, Duration wait) {
    Objects.requireNonNull(message, "message");
    return runtime.sendAsync(message, message.payloadBytes(), wait);
  }

  /**
   * Sends if a credit comes within {@code wait}; returns empty instead of throwing {@link
   * CreditTimeoutException}.
   *
   * @throws IllegalArgumentException {@code wait} is not positive
   * @throws SluiceException any other failure, as {@link #send} throws it
   */
  public Optional<SendResult> trySend(OutgoingMessage message, Duration wait) {
    Builder.positive("wait", wait);
    try {
      return Optional.of(join(sendAsync(message, wait)));
    } catch (CreditTimeoutException e) {
      return Optional.empty();
    }
  }

  /**
   * Sends every message, concurrently, and waits for all; results are in input order.
   *
   * @throws SluiceException the first failure, as {@link #send} throws it; the other messages may
   *     or may not have been stored
   */
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

  /**
   * Stores {@code message} to enter the queue after {@code delay}; returns once the schedule is
   * stored durably. Takes no credit now: the message spends one when it fires (see {@code
   * docs/SCHEDULING.md}). A zero or negative delay fires at once.
   *
   * @throws IllegalArgumentException the delay exceeds the maximum (366 days)
   * @throws UnsupportedVersionException no live worker handles the type and version (as for {@link
   *     #send})
   * @throws TopologyException the queue has no schedule stream (provision it again)
   * @throws SluiceException the schedule could not be stored
   */
  public ScheduledSend sendAfter(OutgoingMessage message, Duration delay) {
    return join(sendAfterAsync(message, delay));
  }

  /**
   * Stores {@code message} to enter the queue at {@code at}; a time in the past fires at once.
   * Otherwise as {@link #sendAfter}.
   */
  public ScheduledSend sendAt(OutgoingMessage message, Instant at) {
    return join(sendAtAsync(message, at));
  }

  /**
   * {@link #sendAfter} without blocking: validation errors are thrown at once, the future completes
   * when the schedule is stored.
   */
  public CompletableFuture<ScheduledSend> sendAfterAsync(OutgoingMessage message, Duration delay) {
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(message, "message");
    return schedules.at(message, System.currentTimeMillis() + delay.toMillis());
  }

  /** {@link #sendAt} without blocking, as {@link #sendAfterAsync}. */
  public CompletableFuture<ScheduledSend> sendAtAsync(OutgoingMessage message, Instant at) {
    Objects.requireNonNull(at, "at");
    Objects.requireNonNull(message, "message");
    return schedules.at(message, at.toEpochMilli());
  }

  /**
   * Stores (or replaces) a recurring schedule: each tick of {@code cron}, read in {@code zone},
   * fires {@code template} once across every process of the queue, with message id {@code
   * <scheduleId>-<tick Unix ms>}. {@code cron} has five fields (minute hour day-of-month month
   * day-of-week) or six (a seconds field first).
   *
   * @throws IllegalArgumentException the id is invalid, or the expression is (the message names the
   *     field), or it never fires
   * @throws UnsupportedVersionException no live worker handles the template's type and version
   * @throws SluiceException the schedule could not be stored
   */
  public RecurringSchedule schedule(
      String scheduleId, String cron, ZoneId zone, OutgoingMessage template) {
    Objects.requireNonNull(template, "template");
    return join(schedules.recurring(scheduleId, cron, zone, template));
  }

  /** {@link #schedule(String, String, ZoneId, OutgoingMessage)} in UTC. */
  public RecurringSchedule schedule(String scheduleId, String cron, OutgoingMessage template) {
    return schedule(scheduleId, cron, ZoneOffset.UTC, template);
  }

  /**
   * Cancels the schedule stored under {@code id} (a message id from {@link #sendAt}, or a schedule
   * id from {@link #schedule}). Returns false when none is stored: it fired already (a message
   * being fired at this very moment may still enter the queue), was cancelled, or never existed.
   *
   * @throws SluiceException the schedule stream cannot be reached
   */
  public boolean cancel(String id) {
    return schedules.cancel(id);
  }

  /** Unspent credits this producer holds right now. */
  public long creditsHeld() {
    return runtime.heldUnspent();
  }

  /**
   * Credits this producer took out of circulation by acking partly spent tokens on their return
   * (idle or on close, protocol §6.7): the queue's reconciler mints them back. A producer never
   * publishes tokens itself. Thread-safe; 0 until a partly spent token is returned.
   */
  public long returnedCredits() {
    return runtime.returnedUnspent();
  }

  /** Sends waiting for a credit right now. */
  public int waiting() {
    return runtime.waitingCount();
  }

  /** Messages stored so far. */
  public long sentTotal() {
    return runtime.sentTotal();
  }

  /** This producer's id, as it appears in its report and in each message's header. */
  public String producerId() {
    return runtime.producerId();
  }

  /**
   * Stops acquiring, fails waiting sends, lets publishes in flight finish, returns held credits.
   * Idempotent: a second call, also a concurrent one, returns once the first has finished.
   */
  @Override
  public void close() {
    runtime.close();
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

  /**
   * Configures a {@link QueueProducer}. Every setter validates its value at once and throws {@link
   * IllegalArgumentException} (or {@link NullPointerException} for null) naming the setting and the
   * value; {@link #build()} only connects. Not thread-safe: configure on one thread.
   */
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
    private MeterRegistry meterRegistry;
    private final Map<String, Integer> fairnessWeights = new HashMap<>();

    Builder(Connection nc, String queue) {
      this.nc = Objects.requireNonNull(nc, "connection");
      this.queue = Protocol.requireQueueName(queue);
    }

    /**
     * This producer's id, written in its report and in the {@code Sluice-Producer} header of each
     * message. Default {@code java-<8 random hex digits>}.
     *
     * @throws IllegalArgumentException {@code id} is null or not 1-64 of {@code [A-Za-z0-9_-]}
     */
    public Builder producerId(String id) {
      this.producerId = Protocol.requireId("producerId", id);
      return this;
    }

    /**
     * At most this many single-token pulls outstanding at once (§6.2); default 4. Use the same
     * value for every producer of a queue: the server serves waiting pulls in turn, so prefetch is
     * a producer's weight.
     *
     * @throws IllegalArgumentException {@code prefetch} is outside [1, 64]
     */
    public Builder prefetch(int prefetch) {
      if (prefetch < 1 || prefetch > 64) {
        throw new IllegalArgumentException("prefetch must be in [1, 64], got " + prefetch);
      }
      this.prefetch = prefetch;
      return this;
    }

    /**
     * How long a send waits for a credit before it fails with {@link CreditTimeoutException};
     * default 30 s. A publish that meets the work stream's hard limit retries until this time too.
     *
     * @throws NullPointerException {@code timeout} is null
     * @throws IllegalArgumentException {@code timeout} is zero or negative
     */
    public Builder acquireTimeout(Duration timeout) {
      this.acquireTimeout = positive("acquireTimeout", timeout);
      return this;
    }

    /**
     * Expiry of one credit pull request; default 1 s. A pull that expires empty is sent again while
     * sends still wait.
     *
     * @throws NullPointerException {@code expiry} is null
     * @throws IllegalArgumentException {@code expiry} is zero or negative
     */
    public Builder pullExpiry(Duration expiry) {
      this.pullExpiry = positive("pullExpiry", expiry);
      return this;
    }

    /**
     * How often held credits are reported and expired sends failed; default 250 ms. The report
     * lives 12 intervals (3 s by default).
     *
     * @throws NullPointerException {@code interval} is null
     * @throws IllegalArgumentException {@code interval} is zero or negative
     */
    public Builder reportInterval(Duration interval) {
      this.reportInterval = positive("reportInterval", interval);
      return this;
    }

    /**
     * How long a held token with no waiting send is kept before it goes back to other producers;
     * default 500 ms.
     *
     * @throws NullPointerException {@code idle} is null
     * @throws IllegalArgumentException {@code idle} is zero or negative
     */
    public Builder idleReturn(Duration idle) {
      this.idleReturn = positive("idleReturn", idle);
      return this;
    }

    /**
     * How long one publish try waits for the stream's acknowledgement before it is retried (with
     * the same message id); default 5 s.
     *
     * @throws NullPointerException {@code timeout} is null
     * @throws IllegalArgumentException {@code timeout} is zero or negative
     */
    public Builder publishTimeout(Duration timeout) {
      this.publishTimeout = positive("publishTimeout", timeout);
      return this;
    }

    /**
     * What a send does when live workers exist and none handles its type and version (§4.3);
     * default {@link VersionPolicy#FAIL}.
     *
     * @throws NullPointerException {@code policy} is null
     */
    public Builder versionPolicy(VersionPolicy policy) {
      this.versionPolicy = Objects.requireNonNull(policy, "versionPolicy");
      return this;
    }

    /**
     * Gives fairness key {@code key} weight {@code weight} in this producer (protocol §15.3): while
     * sends wait for credits, each key with sends waiting gets a share of the grants in proportion
     * to its weight, and a key that asks for less than its share gets all it asks. A key without a
     * weight here takes the queue's ({@link QueueSpec.Builder#fairnessWeight}), else 1. Sends
     * without a key are served as one more key of weight 1.
     *
     * @throws IllegalArgumentException {@code key} is not a valid fairness key (1-64 characters of
     *     {@code [A-Za-z0-9_.:@-]}), or {@code weight} is outside [1, 10000]
     */
    public Builder fairnessWeight(String key, int weight) {
      this.fairnessWeights.put(
          FairnessRules.requireKey("key", key), FairnessRules.requireWeight(key, weight));
      return this;
    }

    /**
     * Records the producer's metrics ({@code sluice.producer.acquire}, {@code
     * sluice.producer.credits.held}, {@code sluice.producer.waiting}, tagged {@code queue} and
     * {@code producer}: docs/METRICS.md) on {@code registry}; default none. Micrometer is an
     * optional dependency: without this call it need not be on the class path.
     *
     * @throws NullPointerException {@code registry} is null
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /**
     * Connects and starts the producer.
     *
     * @throws TopologyException the queue is not provisioned, or this connection may not read it
     */
    public QueueProducer build() {
      ProducerRuntime runtime =
          new ProducerRuntime(
              nc,
              new ProducerSettings(
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
                  Metrics.micrometer(meterRegistry, queue, "producer", producerId),
                  Clock.system(),
                  fairnessWeights));
      return new QueueProducer(
          runtime,
          acquireTimeout,
          new ScheduleWriter(
              runtime, new ScheduleStore(nc, queue, publishTimeout), Clock.system()));
    }

    /** Whether {@code o} is a Micrometer {@code MeterRegistry}, checked without loading it. */
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
