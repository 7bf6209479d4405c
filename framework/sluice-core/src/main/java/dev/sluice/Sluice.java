package dev.sluice;

import dev.sluice.internal.inspect.DeadLetterStore;
import dev.sluice.internal.inspect.QueueReader;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.topology.ConfigApplier;
import dev.sluice.internal.topology.ConfigLoader;
import dev.sluice.internal.topology.Topology;
import io.nats.client.Connection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The entry point: wraps a jnats {@link Connection} (which the caller owns and closes) and opens
 * producers and workers for queues.
 *
 * <pre>{@code
 * Sluice sluice = Sluice.using(connection);
 * sluice.provision(QueueSpec.of("orders"));                 // idempotent
 * QueueProducer producer = sluice.producer("orders").build();
 * Worker worker = sluice.worker("orders").handle(ORDER_CODEC, (order, ctx) -> ship(order)).start();
 * }</pre>
 *
 * <p>Read a queue's state with {@link #inspect(String)}, its stored messages with {@link
 * #peek(String, long, int)} and its dead letters with {@link #deadLetters()}; none of them consumes
 * anything.
 *
 * <p>Thread-safe.
 */
public final class Sluice {
  /** The version of the Sluice protocol this library speaks ({@code sluice/v1}). */
  public static final int PROTOCOL_VERSION = dev.sluice.internal.wire.Protocol.VERSION;

  private final Connection connection;
  private final QueueReader reader;

  private Sluice(Connection connection) {
    this.connection = Objects.requireNonNull(connection, "connection");
    this.reader = new QueueReader(connection, Clock.system());
  }

  /** Sluice on an open connection; the caller keeps ownership of it. */
  public static Sluice using(Connection connection) {
    return new Sluice(connection);
  }

  /** The connection this instance uses; the caller owns it. */
  public Connection connection() {
    return connection;
  }

  /**
   * Creates or updates the queue's topology (streams, consumers, KV buckets, queue settings) and
   * mints the standing buffer of a fresh queue. Idempotent.
   *
   * @throws TopologyException when the server refuses an object
   */
  public ApplyReport provision(QueueSpec spec) {
    return new ConfigApplier(connection, false).apply(Topology.forQueue(spec));
  }

  /**
   * Applies a {@code jetstream-config/} directory (streams/, consumers/, queues/). With {@code
   * dryRun} nothing changes and the report says what would.
   *
   * @throws TopologyException for a malformed file (naming the file and field) or a refusal
   */
  public ApplyReport apply(Path configDir, boolean dryRun) {
    return new ConfigApplier(connection, dryRun).apply(ConfigLoader.load(configDir));
  }

  /** A builder for a producer on {@code queue}. */
  public QueueProducer.Builder producer(String queue) {
    return new QueueProducer.Builder(connection, queue);
  }

  /** A builder for a worker on {@code queue}. */
  public Worker.Builder worker(String queue) {
    return new Worker.Builder(connection, queue);
  }

  /**
   * Reads the state of {@code queue}: the credit protocol's terms (window, backlog, tokens, held,
   * owed), every worker's advert, every producer's report, the reconciler's last audit, the
   * dead-letter count and the hard limit. Consumes and changes nothing; a few requests to the
   * server.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name
   * @throws QueueNotFoundException if the queue has no work stream (provision it first)
   * @throws SluiceException if the server cannot be asked (the cause says why)
   */
  public QueueInspection inspect(String queue) {
    return reader.inspect(queue);
  }

  /**
   * B, the number of messages stored in {@code queue}'s work stream (not yet acknowledged or
   * terminated, in flight included). One request: cheap enough to sample often, where {@link
   * #inspect(String)} reads everything.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name
   * @throws QueueNotFoundException if the queue has no work stream
   * @throws SluiceException if the server cannot be asked
   */
  public long backlog(String queue) {
    return reader.backlog(queue);
  }

  /**
   * The names of every queue on the server, sorted.
   *
   * @throws SluiceException if the server cannot be asked
   */
  public List<String> queues() {
    return reader.queues();
  }

  /**
   * Up to {@code max} messages stored in {@code queue}'s work stream, from sequence {@code
   * fromSequence} on (from the oldest when it is 0 or less), without consuming them.
   *
   * @throws IllegalArgumentException if the queue name is not valid or {@code max} &lt; 1
   * @throws QueueNotFoundException if the queue has no work stream
   * @throws SluiceException if the server cannot be asked
   */
  public List<StoredMessage> peek(String queue, long fromSequence, int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max < 1: " + max);
    }
    return reader.peek(queue, fromSequence, max);
  }

  /**
   * Up to {@code max} of the credit tokens stored for {@code queue} (held ones included), oldest
   * first, with who minted each and why: a trace of where the queue's credits came from. Consumes
   * nothing.
   *
   * @throws IllegalArgumentException if the queue name is not valid or {@code max} &lt; 1
   * @throws QueueNotFoundException if the queue has no work stream
   * @throws SluiceException if the server cannot be asked
   */
  public List<CreditToken> creditTokens(String queue, int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max < 1: " + max);
    }
    return reader.creditTokens(queue, max);
  }

  /**
   * A builder for the process that fires {@code queue}'s scheduled messages when they are due; run
   * one in any number of processes (one fires at a time).
   */
  public Scheduler.Builder scheduler(String queue) {
    return new Scheduler.Builder(connection, queue);
  }

  /**
   * The schedules stored for {@code queue}: list, show, cancel.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name
   */
  public Schedules schedules(String queue) {
    dev.sluice.internal.wire.Protocol.requireQueueName(queue);
    return new Schedules(
        new dev.sluice.internal.schedule.ScheduleStore(connection, queue, Duration.ofSeconds(5)),
        connection);
  }

  /** The dead letters of every queue: list, replay, purge. */
  public DeadLetterQueue deadLetters() {
    return new DeadLetterQueue(new DeadLetterStore(connection, reader));
  }
}
