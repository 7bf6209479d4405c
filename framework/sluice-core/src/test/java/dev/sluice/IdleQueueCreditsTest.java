package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reconciler on a queue where nothing flows (protocol §5.5 [v1.3]): a surplus is fetched from
 * the stream rather than announced as a debt nobody can pay; a debt larger than the surplus (one
 * announced from a wrong reading) does not keep the deficit it leaves from being minted; and no
 * correction is made while the reconciler's own advert is missing from its view of the adverts.
 */
class IdleQueueCreditsTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  /**
   * A thousand one-credit tokens lie in the stream of an idle queue whose window is 4 (a fault
   * returned spent tokens whose acks were lost). The surplus is confirmed and burned by fetching
   * them, in a few requests; before, the reconciler fetched them one round trip at a time for 100
   * ms, announced the rest as a debt, and an idle queue never paid it: the tokens stayed.
   */
  @Test
  void aSurplusOnAnIdleQueueIsFetchedAndBurnedNotLeftAsADebt() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      publishTokens(nc, q, 1000, 1);
      try (Worker w =
          Queues.quickWorker(nc, q)
              .workerId("w1")
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (body, ctx) -> {})
              .start()) {
        long window = w.advertisedCapacity();
        await()
            .atMost(Duration.ofSeconds(30))
            .during(Duration.ofSeconds(1))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return in.tokens() == window && in.debt() == 0 && in.deficit() == 0;
                });
      }
    }
  }

  /**
   * A debt of 20 is pending at the only worker while the idle queue holds exactly its window in
   * tokens: the debt exceeds the surplus (there is none), so the audit reads a deficit of 20. The
   * rule that no mint happens while a debt is absorbed kept that deficit forever on an idle queue
   * (nothing finishes, so nothing absorbs); now the deficit is minted, the debt stays out of
   * circulation, and the first 20 messages that finish pay it.
   */
  @Test
  void aDebtLargerThanTheSurplusDoesNotBlockTheMintOnAnIdleQueue() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      KeyValue control = nc.keyValue(Protocol.CONTROL_BUCKET);
      String leaseKey = Protocol.reconcilerKey(q);
      // A reconciler elsewhere holds the lease for now: the worker stands by and only reads it.
      control.put(leaseKey, foreignLease(1, Map.of(), Duration.ofHours(1)).toByteArray());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
          Queues.quickWorker(nc, q)
              .workerId("w1")
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (body, ctx) -> handled.incrementAndGet())
              .start()) {
        long window = w.advertisedCapacity();
        publishTokens(nc, q, (int) window, 1);
        // The worker's first reading of the lease only sets where it starts.
        await().atMost(Duration.ofSeconds(10)).until(() -> debtSeen(nc, q, "w1") == 1);
        // Its last announcement gives the worker a debt of 20, then the lease expires and the
        // worker's own reconciler takes over an idle queue.
        control.put(
            leaseKey, foreignLease(2, Map.of("w1", 20L), Duration.ofMillis(500)).toByteArray());
        await()
            .atMost(Duration.ofSeconds(30))
            .during(Duration.ofSeconds(1))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return in.debt() == 20 && in.tokens() == window + 20 && in.deficit() == 0;
                });

        // Messages flow: the worker withholds the credits of the first 20 it finishes.
        try (QueueProducer p = sluice.producer(q).build()) {
          for (int i = 0; i < 20; i++) {
            p.send(OutgoingMessage.of(JOB, "m" + i));
          }
        }
        await()
            .atMost(Duration.ofSeconds(30))
            .during(Duration.ofSeconds(1))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return handled.get() == 20
                      && in.backlog() == 0
                      && in.debt() == 0
                      && in.tokens() == window
                      && in.deficit() == 0;
                });
      }
    }
  }

  /**
   * The reconciler's view of the adverts loses its own worker's advert (deleted here; a watch being
   * restarted, or fed by a frozen server, loses it the same way). Counted from that view the window
   * is 0 and every token a surplus, which the reconciler burned within two audits (and minted again
   * once the advert was back); now it makes no correction until its worker's next heartbeat (5 s
   * here) puts the advert back.
   */
  @Test
  void noCorrectionWhileTheReconcilersOwnAdvertIsMissingFromItsView() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      try (Worker w =
          Queues.quickWorker(nc, q)
              .workerId("w1")
              .heartbeat(Duration.ofSeconds(5))
              .advertTtl(Duration.ofSeconds(10))
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (body, ctx) -> {})
              .start()) {
        long window = w.advertisedCapacity();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> sluice.inspect(q).tokens() == window && w.isReconciler());

        // Right after a heartbeat, so the next one is about 5 s away.
        KeyValue capacity = nc.keyValue(Protocol.CAPACITY_BUCKET);
        await()
            .atMost(Duration.ofSeconds(15))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () ->
                    System.currentTimeMillis() - advert(capacity, q, "w1").getHeartbeatUnixMs()
                        < 300);
        capacity.delete(Protocol.advertKey(q, "w1"));
        long until = System.currentTimeMillis() + 2500;
        AtomicLong fewest = new AtomicLong(Long.MAX_VALUE);
        AtomicLong narrowest = new AtomicLong(Long.MAX_VALUE);
        await()
            .atMost(Duration.ofSeconds(10))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  fewest.accumulateAndGet(in.tokens(), Math::min);
                  narrowest.accumulateAndGet(in.window(), Math::min);
                  return System.currentTimeMillis() >= until;
                });
        // The advert was gone (the window read 0) for eight audit intervals; no token was burned.
        assertThat(narrowest.get()).isZero();
        assertThat(fewest.get()).isEqualTo(window);
        // The next heartbeat writes the advert again; the credits still balance.
        await()
            .atMost(Duration.ofSeconds(20))
            .during(Duration.ofSeconds(1))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return in.window() == window && in.tokens() == window && in.deficit() == 0;
                });
      }
    }
  }

  private static ReconcilerLease foreignLease(
      long debtId, Map<String, Long> debts, Duration expiresIn) {
    return ReconcilerLease.newBuilder()
        .setHolder("a-reconciler-elsewhere")
        .setExpiresUnixMs(System.currentTimeMillis() + expiresIn.toMillis())
        .setDebtId(debtId)
        .putAllDebts(debts)
        .build();
  }

  private static long debtSeen(Connection nc, String q, String workerId) throws Exception {
    return advert(nc.keyValue(Protocol.CAPACITY_BUCKET), q, workerId).getDebtSeen();
  }

  private static CapacityAdvert advert(KeyValue capacity, String q, String workerId)
      throws Exception {
    KeyValueEntry e = capacity.get(Protocol.advertKey(q, workerId));
    return e == null || e.getValue() == null
        ? CapacityAdvert.getDefaultInstance()
        : CapacityAdvert.parseFrom(e.getValue());
  }

  /** Publishes {@code count} tokens of {@code value} credits, as stray tokens left by a fault. */
  private static void publishTokens(Connection nc, String q, int count, long value)
      throws Exception {
    List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Headers h = new Headers();
      h.put("Nats-Msg-Id", q + "-stray-token-" + i);
      acks.add(
          nc.jetStream()
              .publishAsync(
                  NatsMessage.builder()
                      .subject(Protocol.creditSubject(q, value))
                      .headers(h)
                      .data(new byte[0])
                      .build()));
    }
    CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).join();
  }
}
