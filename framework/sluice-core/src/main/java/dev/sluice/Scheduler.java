package dev.sluice;

import dev.sluice.internal.nats.StartupErrors;
import dev.sluice.internal.producer.ProducerRuntime;
import dev.sluice.internal.producer.ProducerSettings;
import dev.sluice.internal.schedule.Firer;
import dev.sluice.internal.schedule.ScheduleStore;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.micrometer.core.instrument.MeterRegistry;
import io.nats.client.Connection;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;

/**
 * Fires a queue's scheduled messages when they are due (see {@code docs/SCHEDULING.md}). Run one in
 * as many processes as you like: they elect one firer through a lease, and when it dies another
 * takes over within three lease intervals. A due message enters the queue through the firer's own
 * producer, spending a credit like any send, so a thousand messages due at once wait in the
 * schedule, not in the queue. Thread-safe; close it to hand the role over at once.
 *
 * <pre>{@code
 * try (Scheduler scheduler = sluice.scheduler("orders").start()) {
 *   ... // fires while this process runs
 * }
 * }</pre>
 */
public final class Scheduler implements AutoCloseable {
  private final String id;
  private final ProducerRuntime producer;
  private final Firer firer;

  private Scheduler(String id, ProducerRuntime producer, Firer firer) {
    this.id = id;
    this.producer = producer;
    this.firer = firer;
  }

  /** This scheduler's id: in the firing lease, and as the producer of the messages it fires. */
  public String id() {
    return id;
  }

  /** Whether this process fires the queue's schedules right now. */
  public boolean isFiring() {
    return firer.isFiring();
  }

  /** Messages this process has fired into the queue. */
  public long fired() {
    return firer.fired();
  }

  /** Schedules this process knows of that have not fired yet (0 unless it is the firer). */
  public int pending() {
    return firer.pending();
  }

  /** When this process fired its first message, Unix milliseconds, or 0. */
  public long firstFiredAtMillis() {
    return firer.firstFiredAtMs();
  }

  /** Stops firing, gives up the role, and returns the credits its producer holds. Idempotent. */
  @Override
  public void close() {
    firer.close();
    producer.close();
  }

  /**
   * Configures a {@link Scheduler}. Setters validate at once and throw {@link
   * IllegalArgumentException} naming the setting. Not thread-safe.
   */
  public static final class Builder {
    private final Connection nc;
    private final String queue;
    private String id = "sched-" + UUID.randomUUID().toString().substring(0, 8);
    private Duration leaseInterval = Duration.ofSeconds(1);
    private int maxInFlight = 16;
    private MeterRegistry meterRegistry;

    Builder(Connection nc, String queue) {
      this.nc = Objects.requireNonNull(nc, "connection");
      this.queue = Protocol.requireQueueName(queue);
    }

    /**
     * This process's id in the firing lease and, as its producer id, in the messages it fires.
     * Default {@code sched-<8 random hex digits>}.
     *
     * @throws IllegalArgumentException {@code id} is not 1-64 of {@code [A-Za-z0-9_-]}
     */
    public Builder id(String id) {
      this.id = Protocol.requireId("scheduler id", id);
      return this;
    }

    /**
     * How often the firing lease is renewed; it lapses after three intervals, which bounds the time
     * a crashed firer's successor waits. Default 1 s.
     *
     * @throws IllegalArgumentException {@code interval} is below 100 ms
     */
    public Builder leaseInterval(Duration interval) {
      Objects.requireNonNull(interval, "leaseInterval");
      if (interval.toMillis() < 100) {
        throw new IllegalArgumentException("leaseInterval must be >= 100 ms, got " + interval);
      }
      this.leaseInterval = interval;
      return this;
    }

    /**
     * At most this many messages being fired at once, each waiting for its credit; default 16.
     *
     * @throws IllegalArgumentException outside [1, 256]
     */
    public Builder maxInFlight(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("maxInFlight must be in [1, 256], got " + n);
      }
      this.maxInFlight = n;
      return this;
    }

    /**
     * Records {@code sluice.scheduler.lateness} (fired minus due), {@code sluice.scheduler.pending}
     * and {@code sluice.scheduler.overdue}, and the producer's meters, on {@code registry}; default
     * none.
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /**
     * Connects and starts competing for the firing role.
     *
     * @throws TopologyException the queue is not provisioned
     */
    public Scheduler start() {
      Metrics metrics = Metrics.micrometer(meterRegistry, queue, "scheduler", id);
      Duration publishTimeout = Duration.ofSeconds(5);
      Duration acquire = Duration.ofSeconds(5);
      ProducerRuntime producer =
          new ProducerRuntime(
              nc,
              new ProducerSettings(
                  queue,
                  id,
                  4,
                  acquire,
                  Duration.ofSeconds(1),
                  Duration.ofMillis(250),
                  Duration.ofSeconds(3),
                  Duration.ofMillis(500),
                  publishTimeout,
                  VersionPolicy.FAIL,
                  metrics,
                  Clock.system()));
      try {
        Firer firer =
            new Firer(
                nc,
                new Firer.Settings(
                    queue, id, leaseInterval, maxInFlight, acquire, metrics, Clock.system()),
                producer,
                new ScheduleStore(nc, queue, publishTimeout));
        firer.start();
        return new Scheduler(id, producer, firer);
      } catch (IOException e) {
        producer.close();
        throw StartupErrors.of(queue, "scheduler", e, nc.getLastError());
      }
    }
  }
}
