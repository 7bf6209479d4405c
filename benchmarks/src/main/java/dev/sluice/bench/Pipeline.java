package dev.sluice.bench;

import dev.sluice.QuietPullErrorListener;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A producer, a queue and its consumers: raw jnats or Sluice. */
interface Pipeline extends AutoCloseable {
  /** Short name for progress and results. */
  String name();

  /** Creates the queue and starts the consumers; returns once the pipeline can take sends. */
  void start(Stats stats) throws Exception;

  /** Sends one payload; the future completes when the server stored it. */
  CompletableFuture<?> send(byte[] payload);

  /** Messages stored in the work stream right now. */
  long backlog() throws Exception;

  /** The credit window right now, or -1 for a pipeline without one. */
  default long window() {
    return -1;
  }

  /** Called when the measured period begins and ends (counters). */
  default void measureStarted() throws Exception {}

  default void measureEnded() throws Exception {}

  /** Extra figures of the measured period. */
  default Map<String, Object> extras() {
    return Map.of();
  }

  /** After the producer stopped: settles what was sent, then tears down. Bounded. */
  @Override
  void close();

  /** A plain connection, without jnats' "408 Request Timeout" warnings of expired pulls. */
  static Connection connect(String url, String name) throws IOException, InterruptedException {
    return Nats.connect(
        Options.builder()
            .server(url)
            .connectionName(name)
            .errorListener(new QuietPullErrorListener())
            .build());
  }

  static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
