package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class WorkerSmokeTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @Test
  void producedMessagesAreProcessedOnceAndCreditsReturn() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      Set<String> seen = ConcurrentHashMap.newKeySet();
      try (Worker w =
              sluice
                  .worker(q)
                  .concurrency(2)
                  .prefetch(2)
                  .handle(JOB, (s, ctx) -> seen.add(s))
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        for (int i = 0; i < 50; i++) {
          p.send(OutgoingMessage.of(JOB, "job-" + i));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 50);
        // Every credit comes back: tokens + backlog return to the advertised window (2 + 2).
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> assertThat(Queues.tokens(nc, q) + Queues.backlog(nc, q)).isEqualTo(4));
        assertThat(w.processedCount()).isEqualTo(50);
      }
    }
  }
}
