package dev.sluice.bench;

import dev.sluice.CapacityPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Sluice: a {@link QueueProducer} ({@code sendAsync}) and one {@link Worker} with the same handler
 * threads as the raw pipeline, on a freshly provisioned queue.
 */
final class SluicePipeline implements Pipeline {
  static final String TYPE = "bench.Job";
  static final String CONTENT_TYPE = "application/octet-stream";
  static final Codec<byte[]> CODEC = Codec.bytes(TYPE, 1, CONTENT_TYPE);
  static final String CREDIT_STREAM = "SLUICE_CREDITS";
  static final String CONTROL_STREAM = "KV_sluice-control";
  static final String CAPACITY_STREAM = "KV_sluice-capacity";

  private final Settings s;
  private final String queue;
  private Connection producerConn;
  private Connection workerConn;
  private Connection monitorConn;
  private JetStreamManagement jsm;
  private Sluice sluice;
  private Worker worker;
  private QueueProducer producer;
  private long[] seqAtStart;
  private long[] seqAtEnd;

  SluicePipeline(Settings s, String id) {
    this.s = s;
    this.queue = "bench-" + id;
  }

  @Override
  public String name() {
    return "sluice";
  }

  /** The capacity the worker advertises now: the window (one worker, no standing buffer). */
  @Override
  public long window() {
    return worker.advertisedCapacity();
  }

  /** PROTOCOL.md §5.6: token batch − 1 per live worker (one worker here). */
  int slack() {
    return s.tokenBatch() - 1;
  }

  @Override
  public void start(Stats stats) throws Exception {
    producerConn = Pipeline.connect(s.server(), "bench-sluice-producer");
    workerConn = Pipeline.connect(s.server(), "bench-sluice-worker");
    monitorConn = Pipeline.connect(s.server(), "bench-sluice-monitor");
    jsm = monitorConn.jetStreamManagement();
    sluice = Sluice.using(monitorConn);
    sluice.provision(QueueSpec.builder(queue).tokenBatch(s.tokenBatch()).build());
    Worker.Builder b =
        Sluice.using(workerConn)
            .worker(queue)
            .handle(
                CODEC,
                (payload, ctx) -> {
                  Stats.work(s.workMicros());
                  stats.handled(payload);
                })
            .concurrency(s.concurrency())
            .prefetch(s.prefetch())
            .heartbeat(Duration.ofMillis(s.heartbeatMs()))
            .advertTtl(Duration.ofMillis(4L * s.heartbeatMs()));
    if (s.latencyTargetMs() > 0) {
      b.capacity(
          CapacityPolicy.latencyTarget(Duration.ofMillis(s.latencyTargetMs()), s.maxCapacity()));
    }
    worker = b.start();
    // The reconciler mints the window after two agreeing audits (PROTOCOL.md §5.5).
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (sluice.inspect(queue).tokens() < worker.advertisedCapacity()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the reconciler did not mint the window of "
                + worker.advertisedCapacity()
                + " within 30 s");
      }
      Thread.sleep(50);
    }
    producer =
        Sluice.using(producerConn).producer(queue).acquireTimeout(Duration.ofSeconds(60)).build();
  }

  @Override
  public CompletableFuture<?> send(byte[] payload) {
    return producer.sendAsync(
        OutgoingMessage.builder(TYPE, 1, payload).contentType(CONTENT_TYPE).build());
  }

  @Override
  public long backlog() throws Exception {
    return sluice.backlog(queue);
  }

  private long[] sequences() throws Exception {
    return new long[] {lastSeq(CREDIT_STREAM), lastSeq(CONTROL_STREAM), lastSeq(CAPACITY_STREAM)};
  }

  private long lastSeq(String stream) throws Exception {
    return jsm.getStreamInfo(stream).getStreamState().getLastSequence();
  }

  @Override
  public void measureStarted() throws Exception {
    seqAtStart = sequences();
  }

  @Override
  public void measureEnded() throws Exception {
    seqAtEnd = sequences();
  }

  /**
   * Credit-protocol messages stored during the measured period: token publishes (mints by the
   * worker, the reconciler and producer returns), writes to sluice-control (ProducerReports and the
   * reconciler's ledger) and capacity adverts.
   */
  @Override
  public Map<String, Object> extras() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("slack", slack());
    if (seqAtStart != null && seqAtEnd != null) {
      m.put("token_publishes", seqAtEnd[0] - seqAtStart[0]);
      m.put("control_writes", seqAtEnd[1] - seqAtStart[1]);
      m.put("advert_writes", seqAtEnd[2] - seqAtStart[2]);
    }
    return m;
  }

  @Override
  public void close() {
    // Everything sent is handled before the worker goes, so it closes without NAKs.
    if (producer != null) {
      producer.close();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    try {
      while (jsm != null && backlog() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } catch (Exception e) {
      System.err.println("bench: could not watch the drain: " + e);
    }
    if (worker != null) {
      worker.close();
    }
    Pipeline.closeQuietly(producerConn);
    Pipeline.closeQuietly(workerConn);
    Pipeline.closeQuietly(monitorConn);
  }
}
