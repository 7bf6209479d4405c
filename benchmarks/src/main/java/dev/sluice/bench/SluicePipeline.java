package dev.sluice.bench;

import dev.sluice.CapacityPolicy;
import dev.sluice.MessageContext;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.SluiceHeaders;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Sluice: {@link QueueProducer}s ({@code sendAsync}) and {@link Worker}s with the same handler
 * threads as the raw pipeline, each on its own connection, on a freshly provisioned queue.
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
  private final int producerCount;
  private final int workerCount;
  private final int replicas;
  private final List<Connection> connections = new ArrayList<>();
  private Connection monitorConn;
  private JetStreamManagement jsm;
  private Sluice sluice;
  private final List<Worker> workers = new ArrayList<>();
  private final List<QueueProducer> producers = new ArrayList<>();
  private long[] seqAtStart;
  private long[] seqAtEnd;

  /** A pipeline on queue {@code queue} with stream replicas {@code replicas} (1 or 3). */
  SluicePipeline(Settings s, String queue, int producers, int workers, int replicas) {
    this.s = s;
    this.queue = queue;
    this.producerCount = producers;
    this.workerCount = workers;
    this.replicas = replicas;
  }

  @Override
  public int producers() {
    return producerCount;
  }

  /**
   * {@code --outstanding} per worker: the window grows with each worker, and one producer with a
   * fixed number of sends in flight could not fill it, so more workers would measure the producer.
   */
  @Override
  public int outstanding(int configured) {
    return configured * workerCount;
  }

  @Override
  public String name() {
    return "sluice";
  }

  /** The capacity the workers advertise now: the window (no standing buffer). */
  @Override
  public long window() {
    return workers.stream().mapToLong(Worker::advertisedCapacity).sum();
  }

  /** PROTOCOL.md §5.6: token batch − 1 per live worker. */
  /** The message's {@code Sluice-Sent-At} (unix ms), or 0. */
  private static long sentAt(MessageContext ctx) {
    List<String> v = ctx.header(SluiceHeaders.SENT_AT);
    return v.isEmpty() ? 0 : Long.parseLong(v.get(0));
  }

  int slack() {
    return workerCount * (s.tokenBatch() - 1);
  }

  @Override
  public void start(Stats stats) throws Exception {
    monitorConn = Pipeline.connect(s.server(), "bench-sluice-monitor");
    jsm = monitorConn.jetStreamManagement();
    sluice = Sluice.using(monitorConn);
    sluice.provision(
        QueueSpec.builder(queue).tokenBatch(s.tokenBatch()).replicas(replicas).build());
    for (int i = 0; i < workerCount; i++) {
      Connection c = Pipeline.connect(s.server(), "bench-sluice-worker-" + i);
      connections.add(c);
      Worker.Builder b =
          Sluice.using(c)
              .worker(queue)
              .handle(
                  CODEC,
                  (payload, ctx) -> {
                    Stats.work(s.workMicros());
                    if (s.workMicros()
                        > 0) { // slow handlers: split the latency (no cost when fast)
                      stats.handled(payload, sentAt(ctx));
                    } else {
                      stats.handled(payload);
                    }
                  })
              .concurrency(s.concurrency())
              .prefetch(s.prefetch())
              .heartbeat(Duration.ofMillis(s.heartbeatMs()))
              .advertTtl(Duration.ofMillis(4L * s.heartbeatMs()));
      if (s.idempotencyKeys() > 0) {
        b.idempotencyStore(IdempotencyStore.local(s.idempotencyKeys(), Duration.ofHours(1)));
      }
      if (s.latencyTargetMs() > 0) {
        b.capacity(
            CapacityPolicy.latencyTarget(Duration.ofMillis(s.latencyTargetMs()), s.maxCapacity()));
      }
      workers.add(b.start());
    }
    // The reconciler mints the window after two agreeing audits (PROTOCOL.md §5.5).
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (sluice.inspect(queue).tokens() < window()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the reconciler did not mint the window of " + window() + " within 30 s");
      }
      Thread.sleep(50);
    }
    for (int i = 0; i < producerCount; i++) {
      Connection c = Pipeline.connect(s.server(), "bench-sluice-producer-" + i);
      connections.add(c);
      producers.add(Sluice.using(c).producer(queue).acquireTimeout(Duration.ofSeconds(60)).build());
    }
  }

  @Override
  public CompletableFuture<?> send(int producer, byte[] payload) {
    return producers
        .get(producer)
        .sendAsync(OutgoingMessage.builder(TYPE, 1, payload).contentType(CONTENT_TYPE).build());
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
    producers.forEach(QueueProducer::close);
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    try {
      while (jsm != null && backlog() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } catch (Exception e) {
      System.err.println("bench: could not watch the drain: " + e);
    }
    workers.forEach(Worker::close);
    connections.forEach(Pipeline::closeQuietly);
    Pipeline.closeQuietly(monitorConn);
  }
}
