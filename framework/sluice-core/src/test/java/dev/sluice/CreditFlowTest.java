package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Credit flow control against a real server (protocol §5, §6). */
class CreditFlowTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration AUDIT = Duration.ofMillis(300);

  static Worker.Builder worker(Sluice sluice, String q, Handler<String> h) {
    return sluice
        .worker(q)
        .handle(JOB, h)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(AUDIT);
  }

  @Test
  void sendTimesOutWithNoLiveWorkersReason() {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofMillis(800)).build()) {
        assertThatThrownBy(() -> p.send(OutgoingMessage.of(JOB, "x")))
            .isInstanceOfSatisfying(
                CreditTimeoutException.class,
                e ->
                    assertThat(e.reason()).isEqualTo(CreditTimeoutException.Reason.NO_LIVE_WORKERS))
            .hasMessageContaining("no live workers advertise capacity for queue " + q);
        assertThat(p.trySend(OutgoingMessage.of(JOB, "y"), Duration.ofMillis(200))).isEmpty();
      }
      // Nothing was stored: a timed-out send must not leave a message behind.
      assertThat(Queues.backlog(nc, q)).isZero();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void standingBufferAcceptsThatManyMessagesBeforeAnyWorker() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(5).tokenBatch(4).build());
      assertThat(Queues.tokens(nc, q)).isEqualTo(5);
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofMillis(800)).build()) {
        for (int i = 0; i < 5; i++) {
          p.send(OutgoingMessage.of(JOB, "m" + i));
        }
        assertThatThrownBy(() -> p.send(OutgoingMessage.of(JOB, "sixth")))
            .isInstanceOf(CreditTimeoutException.class)
            .hasMessageContaining("standing buffer of 5 is in use");
      }
      assertThat(Queues.backlog(nc, q)).isEqualTo(5);
      // A second provisioning of a queue in use mints nothing more.
      sluice.provision(QueueSpec.builder(q).standingBuffer(5).tokenBatch(4).build());
      assertThat(Queues.tokens(nc, q)).isZero();
    }
  }

  @Test
  void backlogStaysWithinWindowWhileProducerOutrunsWorkers() throws Exception {
    String q = NATS.uniqueName("q");
    int batch = 4;
    try (Connection nc = NATS.server().connect();
        Connection pc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(batch).lease(Duration.ofSeconds(3)).build());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
              worker(
                      sluice,
                      q,
                      (s, ctx) -> {
                        Thread.sleep(2); // simulated work: ~2,000 msg/s with 4 threads
                        handled.incrementAndGet();
                      })
                  .concurrency(4)
                  .prefetch(4)
                  .start();
          QueueProducer p =
              Sluice.using(pc).producer(q).acquireTimeout(Duration.ofSeconds(30)).build()) {
        long window = w.advertisedCapacity();
        long slack = batch - 1; // one worker's carry, PROTOCOL.md §5.6
        AtomicLong maxBacklog = new AtomicLong();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler =
            new Thread(
                () -> {
                  while (sampling.get()) {
                    maxBacklog.accumulateAndGet(Queues.backlog(nc, q), Math::max);
                    try {
                      Thread.sleep(5);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
        sampler.start();
        // Offered load: up to 400 sends in flight at once, far beyond what 4 workers drain.
        List<CompletableFuture<SendResult>> inFlight = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int sent = 0;
        while (System.nanoTime() < end) {
          inFlight.removeIf(CompletableFuture::isDone);
          while (inFlight.size() < 400) {
            inFlight.add(p.sendAsync(OutgoingMessage.of(JOB, "m" + sent++)));
          }
          Thread.sleep(1);
        }
        CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
        await().atMost(Duration.ofSeconds(30)).until(() -> handled.get() >= p.sentTotal());
        sampling.set(false);
        sampler.join();

        assertThat(handled.get()).isGreaterThan(1000);
        // The invariant: cooperative producers never push the backlog past W + slack.
        assertThat(maxBacklog.get()).isLessThanOrEqualTo(window + slack).isGreaterThan(0);
      }
    }
  }

  @Test
  void waitingProducerResumesWhenAWorkerJoins() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(2).build());
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(30)).build()) {
        CompletableFuture<SendResult> waiting = p.sendAsync(OutgoingMessage.of(JOB, "first"));
        await()
            .pollDelay(Duration.ofMillis(500))
            .atMost(Duration.ofSeconds(2))
            .until(() -> p.waiting() == 1);
        assertThat(waiting).isNotDone();

        List<String> got = new ArrayList<>();
        try (Worker w =
            worker(
                    sluice,
                    q,
                    (s, ctx) -> {
                      synchronized (got) {
                        got.add(s);
                      }
                    })
                .concurrency(1)
                .prefetch(1)
                .start()) {
          // The reconciler mints the new window after two audits; the waiting send goes through.
          SendResult r = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
          assertThat(r.streamSequence()).isEqualTo(1);
          await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("first"));
          // Later sends are granted as work finishes: 20 sends through a window of 2.
          for (int i = 0; i < 20; i++) {
            p.send(OutgoingMessage.of(JOB, "n" + i));
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 21);
        }
      }
    }
  }

  @Test
  void threeContendingProducersGetFairShares() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(1).build());
      Map<String, AtomicInteger> byProducer = new ConcurrentHashMap<>();
      try (Worker w =
          worker(
                  sluice,
                  q,
                  (s, ctx) -> {
                    Thread.sleep(2);
                    byProducer
                        .computeIfAbsent(
                            ctx.headers().get("Sluice-Producer"), k -> new AtomicInteger())
                        .incrementAndGet();
                  })
              .concurrency(4)
              .prefetch(8)
              .start()) {
        List<Connection> conns = new ArrayList<>();
        List<QueueProducer> producers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicBoolean go = new AtomicBoolean(true);
        for (int i = 0; i < 3; i++) {
          Connection c = NATS.server().connect();
          conns.add(c);
          QueueProducer p = Sluice.using(c).producer(q).producerId("p" + i).build();
          producers.add(p);
          for (int t = 0; t < 6; t++) {
            Thread th =
                new Thread(
                    () -> {
                      while (go.get()) {
                        try {
                          p.send(OutgoingMessage.of(JOB, "x"));
                        } catch (SluiceException e) {
                          return; // closed at the end of the test
                        }
                      }
                    });
            th.start();
            threads.add(th);
          }
        }
        Thread.sleep(10_000); // the measurement period: producers contend throughout
        go.set(false);
        for (QueueProducer p : producers) {
          p.close();
        }
        for (Thread t : threads) {
          t.join(10_000);
        }
        conns.forEach(
            c -> {
              try {
                c.close();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.backlog(nc, q) == 0);
        int total = byProducer.values().stream().mapToInt(AtomicInteger::get).sum();
        assertThat(total).isGreaterThan(300);
        for (String id : List.of("p0", "p1", "p2")) {
          double share = byProducer.getOrDefault(id, new AtomicInteger()).get() / (double) total;
          assertThat(share).as("share of " + id + " in " + byProducer).isBetween(0.8 / 3, 1.2 / 3);
        }
      }
    }
  }

  @Test
  void rawPublisherHitsTheHardWallWhileSluiceProducerFeelsBackPressure() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).hardLimit(20).standingBuffer(5).tokenBatch(1).build());
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(30)).build()) {
        // A publisher with a bug ignores credits: the server stops it at max_msgs.
        int stored = 0;
        JetStreamApiException wall = null;
        for (int i = 0; i < 25 && wall == null; i++) {
          try {
            Queues.rawPublish(nc, q, Queues.goodHeaders(1), "raw".getBytes());
            stored++;
          } catch (JetStreamApiException e) {
            wall = e;
          }
        }
        assertThat(stored).isEqualTo(20);
        assertThat(wall).isNotNull();
        assertThat(wall.getApiErrorCode()).isEqualTo(10077);

        // The Sluice producer has a credit but the stream is full: it waits, it does not fail.
        CompletableFuture<SendResult> blocked = p.sendAsync(OutgoingMessage.of(JOB, "polite"));
        await()
            .pollDelay(Duration.ofSeconds(1))
            .atMost(Duration.ofSeconds(3))
            .until(() -> !blocked.isDone());

        AtomicInteger handled = new AtomicInteger();
        try (Worker w = worker(sluice, q, (s, ctx) -> handled.incrementAndGet()).start()) {
          assertThat(blocked.get(15, java.util.concurrent.TimeUnit.SECONDS).streamSequence())
              .isEqualTo(21);
          for (int i = 0; i < 10; i++) {
            p.send(OutgoingMessage.of(JOB, "after" + i));
          }
          await().atMost(Duration.ofSeconds(15)).until(() -> handled.get() == 31);
        }
      }
    }
  }

  @Test
  void producerRefusesAVersionNoLiveWorkerHandles() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (Worker w = worker(sluice, q, (s, ctx) -> {}).start();
          QueueProducer strict = sluice.producer(q).build();
          QueueProducer lenient = sluice.producer(q).versionPolicy(VersionPolicy.WARN).build()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.tokens(nc, q) > 0);
        OutgoingMessage v2 = OutgoingMessage.builder(Queues.TYPE, 2, "x".getBytes()).build();
        assertThatThrownBy(() -> strict.send(v2))
            .isInstanceOf(UnsupportedVersionException.class)
            .hasMessageContaining(Queues.TYPE + " version 2")
            .hasMessageContaining("[" + Queues.TYPE + "@1-1]");
        assertThat(lenient.send(v2).streamSequence()).isPositive();
      }
    }
  }
}
