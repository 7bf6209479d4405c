package dev.sluice.bench;

import io.nats.client.Connection;
import io.nats.client.ConsumeOptions;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.MessageConsumer;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline: {@code publishAsync} to a plain work-queue stream, consumed with jnats' simplified
 * {@code consume()} API (default options); each message is handed to a fixed pool of handler
 * threads and acked after the work. Its floor variants ({@link FloorWire}) send a header block with
 * each message and read it in the handler before the ack; nothing else changes.
 */
final class RawPipeline implements Pipeline {
  private final Settings s;
  private final String stream;
  private final String subject;
  private Connection producerConn;
  private Connection workerConn;
  private Connection monitorConn;
  private JetStream js;
  private JetStreamManagement jsm;
  private ExecutorService pool;
  private MessageConsumer consumer;

  private final int replicas;
  private final FloorWire wire;
  private final String producerId = FloorWire.producerId();
  private final AtomicLong unreadable = new AtomicLong();

  RawPipeline(Settings s, String id) {
    this(s, id, 1, FloorWire.NONE);
  }

  /** A raw pipeline whose stream has {@code replicas} replicas (1 or 3). */
  RawPipeline(Settings s, String id, int replicas) {
    this(s, id, replicas, FloorWire.NONE);
  }

  /** A raw pipeline whose messages carry {@code wire}'s headers. */
  RawPipeline(Settings s, String id, int replicas, FloorWire wire) {
    this.s = s;
    this.replicas = replicas;
    this.wire = wire;
    this.stream = "BENCH_RAW_" + id;
    this.subject = "bench.raw." + id;
  }

  @Override
  public String name() {
    return wire.pipeline();
  }

  @Override
  public void start(Stats stats) throws Exception {
    producerConn = Pipeline.connect(s.server(), "bench-raw-producer");
    workerConn = Pipeline.connect(s.server(), "bench-raw-worker");
    monitorConn = Pipeline.connect(s.server(), "bench-raw-monitor");
    jsm = monitorConn.jetStreamManagement();
    jsm.addStream(
        StreamConfiguration.builder()
            .name(stream)
            .subjects(subject)
            .retentionPolicy(RetentionPolicy.WorkQueue)
            .storageType(StorageType.File)
            .replicas(replicas)
            .build());
    jsm.addOrUpdateConsumer(
        stream,
        ConsumerConfiguration.builder()
            .durable("workers")
            .ackPolicy(AckPolicy.Explicit)
            .ackWait(Duration.ofSeconds(60))
            .build());
    js = producerConn.jetStream();
    AtomicInteger n = new AtomicInteger();
    pool =
        Executors.newFixedThreadPool(
            s.concurrency(),
            r -> {
              Thread t = new Thread(r, "raw-handler-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    // The consume() callback runs on one dispatcher thread: hand each message to a free handler
    // thread, waiting for one (the client buffers what the consume() pulls brought meanwhile).
    Semaphore free = new Semaphore(s.concurrency());
    consumer =
        workerConn
            .getConsumerContext(stream, "workers")
            .consume(
                ConsumeOptions.DEFAULT_CONSUME_OPTIONS,
                msg -> {
                  free.acquire();
                  try {
                    pool.execute(
                        () -> {
                          try {
                            if (!wire.read(msg.getHeaders())) {
                              unreadable.incrementAndGet();
                            }
                            Stats.work(s.workMicros());
                            stats.handled(msg.getData());
                            msg.ack();
                          } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                          } finally {
                            free.release();
                          }
                        });
                  } catch (RuntimeException e) {
                    free.release(); // pool shut down: closing
                  }
                });
  }

  @Override
  public CompletableFuture<?> send(int producer, byte[] payload) {
    return wire == FloorWire.NONE
        ? js.publishAsync(subject, payload)
        : js.publishAsync(subject, wire.headers(producerId), payload);
  }

  /** A floor variant counts deliveries whose headers it could not read (there must be none). */
  @Override
  public Map<String, Object> extras() {
    return wire == FloorWire.NONE ? Map.of() : Map.of("unreadable_headers", unreadable.get());
  }

  @Override
  public long backlog() throws Exception {
    return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
  }

  @Override
  public void close() {
    if (consumer != null) {
      consumer.stop();
    }
    if (pool != null) {
      pool.shutdownNow();
      try {
        pool.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      if (jsm != null) {
        jsm.deleteStream(stream); // the backlog the raw producer built is never drained
      }
    } catch (Exception e) {
      System.err.println("bench: could not delete " + stream + ": " + e);
    }
    Pipeline.closeQuietly(producerConn);
    Pipeline.closeQuietly(workerConn);
    Pipeline.closeQuietly(monitorConn);
  }
}
