package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.api.KeyValueEntry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * After any crash, circulating credits return to the window (invariant I3): a producer killed
 * holding a partly spent token, a worker killed under load, and the server killed and restarted.
 * The bound asserted is one lease plus the report/advert TTL plus two audits, with margin.
 */
class CreditHealingTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration LEASE = Duration.ofSeconds(2);
  static final Duration AUDIT = Duration.ofMillis(300);
  static final Duration HEAL = Duration.ofSeconds(15);

  static Worker.Builder worker(Sluice sluice, String q) {
    return sluice
        .worker(q)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(AUDIT);
  }

  static Process java(String main, String... args) throws Exception {
    String[] cmd = new String[4 + args.length];
    cmd[0] = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    cmd[1] = "-cp";
    cmd[2] = System.getProperty("java.class.path");
    cmd[3] = main;
    System.arraycopy(args, 0, cmd, 4, args.length);
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  static void kill9(Process p) throws Exception {
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
    p.waitFor(10, TimeUnit.SECONDS);
    assertThat(p.isAlive()).isFalse();
  }

  @Test
  void producerKilledHoldingCreditsHeals() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = NATS.uniqueName("q");
      Sluice.using(nc).provision(QueueSpec.builder(q).tokenBatch(4).lease(LEASE).build());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
          worker(Sluice.using(nc), q)
              .concurrency(4)
              .prefetch(4)
              .handle(JOB, (s, c) -> handled.incrementAndGet())
              .start()) {
        long window = w.advertisedCapacity();
        await().atMost(HEAL).until(() -> Queues.tokens(nc, q) == window);

        Process child = java(ChildProducer.class.getName(), NATS.server().url(), q, "2");
        BufferedReader out =
            new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line;
        do {
          line = out.readLine();
        } while (line != null && !line.startsWith("HOLDING"));
        assertThat(line).as("child producer output").isEqualTo("HOLDING 2");
        // The child reports what it holds before it could be killed.
        await()
            .atMost(Duration.ofSeconds(5))
            .until(
                () -> {
                  KeyValueEntry e =
                      nc.keyValue(Protocol.CONTROL_BUCKET).get(Protocol.producerKey(q, "child"));
                  return e != null && ProducerReport.parseFrom(e.getValue()).getHeldSpent() == 2;
                });

        kill9(child);

        // Its token comes back after the lease (worth 4, of which 2 were spent): the reconciler
        // burns the duplicate 2. Circulation returns to exactly the window, and stays there.
        await().atMost(HEAL).until(() -> handled.get() == 2);
        await()
            .atMost(HEAL)
            .until(
                () ->
                    Queues.tokens(nc, q) + Queues.backlog(nc, q) == window
                        && nc.jetStreamManagement()
                                .getConsumerInfo(Protocol.CREDIT_STREAM, Protocol.creditConsumer(q))
                                .getNumAckPending()
                            == 0);
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(4))
            .until(() -> Queues.tokens(nc, q) + Queues.backlog(nc, q) == window);
      }
    }
  }

  @Test
  void workerKilledUnderLoadHeals() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = NATS.uniqueName("q");
      Sluice.using(nc)
          .provision(
              QueueSpec.builder(q)
                  .tokenBatch(4)
                  .lease(LEASE)
                  .ackWait(Duration.ofSeconds(2))
                  .build());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
              worker(Sluice.using(nc), q)
                  .concurrency(2)
                  .prefetch(2)
                  .handle(
                      JOB,
                      (s, c) -> {
                        Thread.sleep(5);
                        handled.incrementAndGet();
                      })
                  .start();
          QueueProducer p = Sluice.using(nc).producer(q).build()) {
        Process child = java(HungryChildWorker.class.getName(), NATS.server().url(), q);
        try {
          // Both workers take part: the window covers both adverts.
          await()
              .atMost(HEAL)
              .until(() -> Queues.tokens(nc, q) + Queues.backlog(nc, q) > w.advertisedCapacity());
          for (int i = 0; i < 200; i++) {
            p.sendAsync(OutgoingMessage.of(JOB, "m" + i));
          }
          await().atMost(HEAL).until(() -> handled.get() > 20);
        } finally {
          kill9(child);
        }
        // The child's in-flight messages come back after the ack wait; its advert expires; the
        // window shrinks to this worker's capacity and any owed credit it took along is re-minted.
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> Queues.backlog(nc, q) == 0 && p.waiting() == 0);
        long window = w.advertisedCapacity();
        await().atMost(HEAL).until(() -> Queues.tokens(nc, q) + Queues.backlog(nc, q) == window);
        p.send(OutgoingMessage.of(JOB, "after"));
      }
    }
  }

  @Test
  void serverKilledAndRestartedHeals() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = NATS.uniqueName("q");
      Sluice.using(nc).provision(QueueSpec.builder(q).tokenBatch(2).lease(LEASE).build());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
              worker(Sluice.using(nc), q)
                  .concurrency(2)
                  .prefetch(2)
                  .handle(
                      JOB,
                      (s, c) -> {
                        Thread.sleep(3);
                        handled.incrementAndGet();
                      })
                  .start();
          QueueProducer p =
              Sluice.using(nc).producer(q).acquireTimeout(Duration.ofSeconds(60)).build()) {
        long window = w.advertisedCapacity();
        for (int i = 0; i < 50; i++) {
          p.sendAsync(OutgoingMessage.of(JOB, "before" + i));
        }
        NATS.server().kill();
        NATS.server().start();
        // Everything acknowledged before the crash is still there and gets done; sends resume.
        for (int i = 0; i < 20; i++) {
          p.send(OutgoingMessage.of(JOB, "after" + i));
        }
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> Queues.backlog(nc, q) == 0 && handled.get() >= 70);
        await().atMost(HEAL).until(() -> Queues.tokens(nc, q) + Queues.backlog(nc, q) == window);
      }
    }
  }
}
