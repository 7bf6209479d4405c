package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
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
                    .get("sluice.worker.dead_lettered")
                    .tag("reason", "rejected")
                    .counter()
                    .count())
            .isEqualTo(1);
        assertThat(registry.get("sluice.worker.handler").tag("queue", q).timer().count())
            .isEqualTo(11);
        assertThat(registry.get("sluice.producer.acquire").tag("queue", q).timer().count())
            .isPositive();
        assertThat(registry.get("sluice.worker.inflight").gauge().value()).isZero();
        assertThat(registry.get("sluice.producer.waiting").gauge().value()).isZero();
        await()
            .atMost(Duration.ofSeconds(5))
            .until(
                () ->
                    registry.get("sluice.queue.window").gauge().value() == w.advertisedCapacity());
      }
    }
  }
}
