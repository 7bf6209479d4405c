package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.schedule.ScheduleWire;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsClusterExtension;
import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Schedules on a 3-node cluster survive losing the schedule stream's leader while they fire. */
class ScheduleClusterTest {
  @RegisterExtension static final NatsClusterExtension CLUSTER = NatsClusterExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @Test
  void everyScheduleFiresOnceWhenTheLeaderIsKilledWhileTheyComeDue() throws Exception {
    String q = CLUSTER.uniqueName("q");
    try (Connection nc = CLUSTER.connect();
        Connection fc = CLUSTER.connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).replicas(3).tokenBatch(4).build());
      Map<String, Integer> handled = new ConcurrentHashMap<>();
      try (QueueProducer p = sluice.producer(q).build()) {
        for (int i = 0; i < 150; i++) {
          p.sendAfter(OutgoingMessage.of(JOB, "m" + i), Duration.ofMillis(1000 + 40L * i));
        }
      }
      NatsServer leader =
          await()
              .atMost(Duration.ofSeconds(20))
              .until(
                  () -> CLUSTER.leaderOf(ScheduleWire.stream(q), nc).orElse(null), l -> l != null);
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .handle(JOB, (s, ctx) -> handled.merge(ctx.messageId(), 1, Integer::sum))
                  .start();
          Scheduler s =
              Sluice.using(fc).scheduler(q).leaseInterval(Duration.ofMillis(500)).start()) {
        await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() >= 30);
        leader.kill();
        try {
          await().atMost(Duration.ofSeconds(90)).until(() -> handled.size() == 150);
          assertThat(handled.values()).allMatch(n -> n == 1);
          await()
              .atMost(Duration.ofSeconds(30))
              .ignoreExceptions()
              .until(() -> sluice.schedules(q).count() == 0);
        } finally {
          leader.start();
        }
      }
    }
  }
}
