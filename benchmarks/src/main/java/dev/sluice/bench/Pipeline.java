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

  /** How many independent producers send (each with its own connection); 1 unless scaling. */
  default int producers() {
    return 1;
  }

  /**
   * Sends one payload from producer {@code producer} (0-based); the future completes when the
   * broker stored it.
   */
  CompletableFuture<?> send(int producer, byte[] payload);

  /** Sends in flight per producer, given {@code --outstanding}. */
  default int outstanding(int configured) {
    return configured;
  }

  /** Which broker's processes do the server-side work: {@code nats} or {@code rabbitmq}. */
  default String broker() {
    return "nats";
  }

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

  /**
   * Waits up to 30 s for JetStream to answer (a fresh cluster elects its meta leader first).
   *
   * @throws IllegalStateException when it does not
   */
  static void awaitJetStream(Connection c) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      try {
        c.jetStreamManagement().getAccountStatistics();
        return;
      } catch (IOException | io.nats.client.JetStreamApiException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("JetStream did not answer within 30 s: " + e, e);
        }
        Thread.sleep(200);
      }
    }
  }

  /** A plain connection, without jnats' "408 Request Timeout" warnings of expired pulls. */
  static Connection connect(String url, String name) throws IOException, InterruptedException {
    return connect(url, name, null);
  }

  /**
   * As {@link #connect(String, String)}, with {@code reads} told of every message read (or null).
   */
  static Connection connect(String url, String name, io.nats.client.ReadListener reads)
      throws IOException, InterruptedException {
    Options.Builder b =
        Options.builder()
            .servers(url.split(","))
            .connectionName(name)
            .errorListener(new QuietPullErrorListener());
    if (reads != null) {
      b.readListener(reads);
    }
    return Nats.connect(b.build());
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
