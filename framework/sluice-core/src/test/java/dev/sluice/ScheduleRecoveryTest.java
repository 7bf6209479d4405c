package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Schedules outlive a server restart and a firer that dies without handing over (§13.6). */
class ScheduleRecoveryTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @Test
  void aCronScheduleKeepsTickingOnceAcrossAServerRestart() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = Queues.provision(nc, NATS);
      Map<String, Integer> ticks = new ConcurrentHashMap<>();
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .handle(JOB, (s, ctx) -> ticks.merge(ctx.messageId(), 1, Integer::sum))
                  .start();
          QueueProducer p = sluice.producer(q).build();
          Scheduler s = sluice.scheduler(q).leaseInterval(Duration.ofMillis(300)).start()) {
        RecurringSchedule r =
            p.schedule("every-second", "* * * * * *", OutgoingMessage.of(JOB, "t"));
        assertThat(r.nextDueAt().toEpochMilli() % 1000).isZero();

        await().atMost(Duration.ofSeconds(20)).until(() -> ticks.size() >= 2);
        NATS.server().restart();
        int before = ticks.size();
        await().atMost(Duration.ofSeconds(60)).until(() -> ticks.size() >= before + 3);

        assertThat(p.cancel("every-second")).isTrue();
        // One message per tick, each with the tick's own id, none handled twice.
        assertThat(ticks.values()).allMatch(n -> n == 1);
        assertThat(ticks.keySet())
            .allSatisfy(
                id -> {
                  assertThat(id).startsWith("every-second-");
                  assertThat(Long.parseLong(id.substring("every-second-".length())) % 1000)
                      .isZero();
                });
      }
    }
  }

  @Test
  void aFirerThatStopsRenewingIsReplacedAndNothingFiresTwice() throws Exception {
    try (Connection nc = NATS.server().connect();
        Connection firstConn = NATS.server().connect();
        Connection secondConn = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = Queues.provision(nc, NATS);
      Map<String, Integer> handled = new ConcurrentHashMap<>();
      try (QueueProducer p = sluice.producer(q).build()) {
        for (int i = 0; i < 100; i++) {
          p.sendAfter(OutgoingMessage.of(JOB, "m" + i), Duration.ofMillis(500 + 40L * i));
        }
      }
      try (Worker w =
          Queues.quickWorker(nc, q)
              .handle(JOB, (s, ctx) -> handled.merge(ctx.messageId(), 1, Integer::sum))
              .start()) {
        Scheduler first =
            Sluice.using(firstConn).scheduler(q).leaseInterval(Duration.ofMillis(300)).start();
        await().atMost(Duration.ofSeconds(10)).until(first::isFiring);
        try (Scheduler second =
            Sluice.using(secondConn).scheduler(q).leaseInterval(Duration.ofMillis(300)).start()) {
          await().atMost(Duration.ofSeconds(20)).until(() -> handled.size() >= 20);
          // The first firer's connection dies without giving the lease up: like a crash.
          firstConn.close();
          await().atMost(Duration.ofSeconds(10)).until(second::isFiring);
          await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == 100);

          assertThat(handled.values()).allMatch(n -> n == 1);
          assertThat(second.fired()).isPositive();
          assertThat(sluice.schedules(q).count()).isZero();
        } finally {
          first.close();
        }
      }
    }
  }
}
