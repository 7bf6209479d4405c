package dev.sluice.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.MessageProperties;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * RabbitMQ with the official Java client: a quorum queue, publisher confirms (the driver keeps
 * 1,000 unconfirmed), manual acks with {@code basic.qos} 1,000, and the same pool of handler
 * threads as the raw pipeline. Depth = ready messages (from a passive declare) + delivered and not
 * yet acked, the same meaning as a work-queue stream's message count.
 */
final class RabbitPipeline implements Pipeline {
  private final Settings s;
  private final String queue;
  private com.rabbitmq.client.Connection producerConn;
  private com.rabbitmq.client.Connection workerConn;
  private com.rabbitmq.client.Connection monitorConn;
  private Channel pub;
  private Channel sub;
  private Channel monitor;
  private ExecutorService pool;
  private final ConcurrentNavigableMap<Long, CompletableFuture<Void>> unconfirmed =
      new ConcurrentSkipListMap<>();
  private final AtomicLong unacked = new AtomicLong();

  RabbitPipeline(Settings s, String id) {
    this.s = s;
    this.queue = "bench-" + id;
  }

  @Override
  public String name() {
    return "rabbitmq";
  }

  @Override
  public String broker() {
    return "rabbitmq";
  }

  @Override
  public void start(Stats stats) throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri(s.rabbitmq());
    producerConn = f.newConnection("bench-rabbit-producer");
    workerConn = f.newConnection("bench-rabbit-worker");
    monitorConn = f.newConnection("bench-rabbit-monitor");
    monitor = monitorConn.createChannel();
    monitor.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
    pub = producerConn.createChannel();
    pub.confirmSelect();
    pub.addConfirmListener(
        (seq, multiple) -> settle(seq, multiple, null),
        (seq, multiple) -> settle(seq, multiple, new IOException("nack from the broker")));
    AtomicInteger n = new AtomicInteger();
    pool =
        Executors.newFixedThreadPool(
            s.concurrency(),
            r -> {
              Thread t = new Thread(r, "rabbit-handler-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    sub = workerConn.createChannel();
    sub.basicQos(s.rabbitmqPrefetch());
    Semaphore free = new Semaphore(s.concurrency());
    sub.basicConsume(
        queue,
        false,
        (tag, delivery) -> {
          unacked.incrementAndGet();
          try {
            free.acquire();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          long deliveryTag = delivery.getEnvelope().getDeliveryTag();
          try {
            pool.execute(
                () -> {
                  try {
                    Stats.work(s.workMicros());
                    stats.handled(delivery.getBody());
                    // One channel, many handler threads: acks are sent one at a time.
                    synchronized (sub) {
                      sub.basicAck(deliveryTag, false);
                    }
                    unacked.decrementAndGet();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } catch (IOException | RuntimeException e) {
                    // closing
                  } finally {
                    free.release();
                  }
                });
          } catch (RuntimeException e) {
            free.release(); // pool shut down: closing
          }
        },
        tag -> {});
  }

  private void settle(long seq, boolean multiple, Exception failure) {
    var done = multiple ? unconfirmed.headMap(seq, true) : unconfirmed.subMap(seq, true, seq, true);
    done.forEach(
        (k, fut) -> {
          if (failure == null) {
            fut.complete(null);
          } else {
            fut.completeExceptionally(failure);
          }
        });
    done.clear();
  }

  /** Called by the one producer thread only: a channel's publishes are not thread-safe. */
  @Override
  public CompletableFuture<?> send(int producer, byte[] payload) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    long seq = pub.getNextPublishSeqNo();
    unconfirmed.put(seq, f);
    try {
      pub.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, payload);
    } catch (IOException | RuntimeException e) {
      unconfirmed.remove(seq);
      f.completeExceptionally(e);
    }
    return f;
  }

  @Override
  public long backlog() throws Exception {
    return monitor.queueDeclarePassive(queue).getMessageCount() + unacked.get();
  }

  @Override
  public void close() {
    try {
      if (sub != null) {
        sub.close();
      }
    } catch (Exception e) {
      // closing
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
      if (monitor != null) {
        monitor.queueDelete(queue); // the backlog left is never drained
      }
    } catch (Exception e) {
      System.err.println("bench: could not delete RabbitMQ queue " + queue + ": " + e);
    }
    for (com.rabbitmq.client.Connection c :
        new com.rabbitmq.client.Connection[] {producerConn, workerConn, monitorConn}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing
      }
    }
    unconfirmed.values().forEach(f -> f.completeExceptionally(new IOException("closed")));
  }
}
