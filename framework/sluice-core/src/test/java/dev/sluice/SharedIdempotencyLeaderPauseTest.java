package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.testkit.NatsClusterExtension;
import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.Nats;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shared idempotency store on a 3-node cluster whose KV leader freezes (SIGSTOP) just as a
 * handler completes: the record cannot land until another node leads or the leader thaws, and the
 * message must be neither acked before it lands nor handled twice.
 */
class SharedIdempotencyLeaderPauseTest {
  @RegisterExtension static final NatsClusterExtension CLUSTER = NatsClusterExtension.create();
  private static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  private static final String KV_STREAM = "KV_" + IdempotencyStore.SHARED_BUCKET;

  /**
   * Without the record-before-ack rule the worker acked while the store was unreachable; with the
   * leader frozen the ack could be lost too, and the redelivery ran the handler a second time: the
   * final count of handler runs would be 2.
   */
  @Test
  void handlerRunsOnceWhenTheProcessedStoreLeaderFreezesAtCompletion() throws Exception {
    String q = CLUSTER.uniqueName("q");
    try (Connection admin = CLUSTER.connect()) {
      Sluice.using(admin)
          .provision(QueueSpec.builder(q).replicas(3).ackWait(Duration.ofSeconds(2)).build());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> CLUSTER.leaderOf(KV_STREAM, admin).isPresent());
      NatsServer kvLeader = CLUSTER.leaderOf(KV_STREAM, admin).orElseThrow();
      // The worker talks to a node that stays up, so only the store's quorum is at stake.
      NatsServer other =
          CLUSTER.nodes().stream().filter(n -> n != kvLeader).findFirst().orElseThrow();
      AtomicInteger runs = new AtomicInteger();
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch finish = new CountDownLatch(1);
      try (Connection nc = Nats.connect(other.url());
          Connection watch = Nats.connect(other.url());
          Worker w =
              Sluice.using(nc)
                  .worker(q)
                  .sharedIdempotency()
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofSeconds(1))
                  .handle(
                      JOB,
                      (s, c) -> {
                        runs.incrementAndGet();
                        started.countDown();
                        finish.await(30, TimeUnit.SECONDS);
                      })
                  .start()) {
        Queues.rawPublish(admin, q, Queues.goodHeaders(1), "x".getBytes());
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        kvLeader.pause();
        try {
          finish.countDown(); // the handler completes while the store's leader is frozen
          // Frozen until the remaining two nodes elect another leader for the store.
          await()
              .atMost(Duration.ofSeconds(30))
              .until(
                  () -> CLUSTER.leaderOf(KV_STREAM, watch).filter(n -> n != kvLeader).isPresent());
        } finally {
          kvLeader.resume();
        }
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> Queues.backlog(watch, q) == 0 && w.processedCount() == 1);
        assertThat(runs.get()).isEqualTo(1);
      }
    }
  }
}
