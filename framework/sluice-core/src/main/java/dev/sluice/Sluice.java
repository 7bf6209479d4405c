package dev.sluice;

import dev.sluice.internal.topology.ConfigApplier;
import dev.sluice.internal.topology.ConfigLoader;
import dev.sluice.internal.topology.Topology;
import io.nats.client.Connection;
import java.nio.file.Path;
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
 * <p>Thread-safe.
 */
public final class Sluice {
  private final Connection connection;

  private Sluice(Connection connection) {
    this.connection = Objects.requireNonNull(connection, "connection");
  }

  /** Sluice on an open connection; the caller keeps ownership of it. */
  public static Sluice using(Connection connection) {
    return new Sluice(connection);
  }

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
}
