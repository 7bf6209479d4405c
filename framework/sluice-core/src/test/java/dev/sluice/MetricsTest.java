package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MetricsTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void workerAndProducerRecordWhatTheyDo() throws Exception {
    String q = NATS.uniqueName("q");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Codec<String> job = Codec.utf8(Queues.TYPE, 1);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (Worker w =
              sluice
                  .worker(q)
                  .meterRegistry(registry)
                  .reconciler(Duration.ofMillis(300))
                  .handle(
                      job,
                      (s, ctx) -> {
                        if (s.equals("bad")) {
                          throw new RejectMessageException("no");
                        }
                      })
                  .start();
          QueueProducer p = sluice.producer(q).meterRegistry(registry).build()) {
        for (int i = 0; i < 10; i++) {
          p.send(OutgoingMessage.of(job, "m" + i));
        }
        p.send(OutgoingMessage.of(job, "bad"));
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.processedCount() == 10 && w.deadLetteredCount() == 1);

        assertThat(registry.get("sluice.worker.processed").tag("queue", q).counter().count())
            .isEqualTo(10);
        assertThat(
                registry
                    .get("sluice.worker.dead.lettered")
                    .tag("reason", "rejected")
                    .counter()
                    .count())
            .isEqualTo(1);
        assertThat(registry.get("sluice.worker.handler").tag("queue", q).timer().count())
            .isEqualTo(11);
        assertThat(registry.get("sluice.producer.acquire").tag("queue", q).timer().count())
            .isPositive();
        assertThat(registry.get("sluice.worker.in.flight").gauge().value()).isZero();
        assertThat(registry.get("sluice.producer.waiting").gauge().value()).isZero();
        await()
            .atMost(Duration.ofSeconds(5))
            .until(
                () ->
                    registry.get("sluice.queue.window").gauge().value() == w.advertisedCapacity());
      }
      assertThat(registry.find("sluice.worker.in.flight").gauges())
          .as("a closed worker's gauges are removed")
          .isEmpty();
      assertThat(registry.find("sluice.producer.waiting").gauges()).isEmpty();
    }
  }

  @Test
  void twoWorkersOfOneQueueInOneJvmAreTwoSeries() throws Exception {
    String q = NATS.uniqueName("q");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Codec<String> job = Codec.utf8(Queues.TYPE, 1);
    CountDownLatch release = new CountDownLatch(1);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      try (Worker a =
              sluice
                  .worker(q)
                  .workerId("w-a")
                  .concurrency(1)
                  .prefetch(1)
                  .meterRegistry(registry)
                  .handle(job, (s, ctx) -> release.await())
                  .start();
          Worker b =
              sluice
                  .worker(q)
                  .workerId("w-b")
                  .concurrency(1)
                  .prefetch(1)
                  .meterRegistry(registry)
                  .handle(job, (s, ctx) -> release.await())
                  .start();
          QueueProducer p = sluice.producer(q).meterRegistry(registry).build()) {
        p.send(OutgoingMessage.of(job, "one"));
        p.send(OutgoingMessage.of(job, "two"));
        // Each worker holds one message in its handler: both gauges read 1.
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  assertThat(registry.find("sluice.worker.in.flight").tag("queue", q).gauges())
                      .hasSize(2);
                  assertThat(
                          registry
                              .get("sluice.worker.in.flight")
                              .tags("queue", q, "worker", "w-a")
                              .gauge()
                              .value())
                      .isEqualTo(1);
                  assertThat(
                          registry
                              .get("sluice.worker.in.flight")
                              .tags("queue", q, "worker", "w-b")
                              .gauge()
                              .value())
                      .isEqualTo(1);
                });
        assertThat(registry.get("sluice.producer.waiting").tag("producer", p.producerId()).gauge())
            .isNotNull();
        release.countDown();
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> a.processedCount() + b.processedCount() == 2);
      }
    }
  }
}
