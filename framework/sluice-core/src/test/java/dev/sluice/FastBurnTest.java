package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fast burn (protocol §5.5): a surplus disappears within about two audit periods after the workers
 * have drained the excess, however busy the producers are, because workers withhold the announced
 * debt from their replenishment instead of the reconciler racing producers for tokens.
 */
class FastBurnTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration AUDIT = Duration.ofMillis(500);
  static final int FLOOD = 1000;

  /**
   * A raw flood of 1,000 messages that ignores credits lands on a queue with a window of 8 while a
   * Sluice producer keeps up to 400 sends waiting for credit. Before debts, each finished flood
   * message was replenished and spent at once by the producer, so the backlog stayed near W + 1,000
   * for a minute or more; here it must be back within W + slack no later than the time the worker
   * needs to drain 1,000 messages at the rate it showed, plus two audit periods, counted from the
   * moment the flood is stored. Both quantities are observed in the run (the worker's rate, the
   * interval between the audits in the lease), so a slow machine widens the bound only as much as
   * it slows the worker and the reconciler.
   */
  @Test
  void surplusFromAFloodBurnsWhileAProducerSaturatesTheQueue() throws Exception {
    String q = NATS.uniqueName("q");
    int batch = 4;
    try (Connection nc = NATS.server().connect();
        Connection pc = NATS.server().connect();
        Connection rc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(
          QueueSpec.builder(q)
              .tokenBatch(batch)
              .hardLimit(5000)
              .lease(Duration.ofSeconds(3))
              .build());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
              sluice
                  .worker(q)
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        Thread.sleep(10); // simulated work: a few hundred messages a second
                        handled.incrementAndGet();
                      })
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofMillis(1000))
                  .reconciler(AUDIT)
                  .concurrency(4)
                  .prefetch(4)
                  .start();
          QueueProducer p =
              Sluice.using(pc).producer(q).acquireTimeout(Duration.ofSeconds(120)).build()) {
        long window = w.advertisedCapacity();
        long slack = (batch - 1) + batch; // one worker's carry + one producer's tolerance, §5.6
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread saturate =
            new Thread(
                () -> {
                  List<CompletableFuture<SendResult>> inFlight = new ArrayList<>();
                  int sent = 0;
                  while (producing.get()) {
                    inFlight.removeIf(CompletableFuture::isDone);
                    while (inFlight.size() < 400) {
                      inFlight.add(p.sendAsync(OutgoingMessage.of(JOB, "m" + sent++)));
                    }
                    try {
                      Thread.sleep(1);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
        saturate.start();
        // The producer holds the queue at its window before the flood.
        await().atMost(Duration.ofSeconds(20)).until(() -> handled.get() > 200);

        int handledAtFlood = handled.get();
        List<CompletableFuture<io.nats.client.api.PublishAck>> flood = new ArrayList<>();
        for (int i = 0; i < FLOOD; i++) {
          io.nats.client.impl.Headers h = new io.nats.client.impl.Headers();
          Queues.goodHeaders(1).forEach(h::put);
          flood.add(
              rc.jetStream()
                  .publishAsync(
                      io.nats.client.impl.NatsMessage.builder()
                          .subject(dev.sluice.internal.wire.Protocol.workSubject(q))
                          .headers(h)
                          .data("flood".getBytes())
                          .build()));
        }
        CompletableFuture.allOf(flood.toArray(CompletableFuture[]::new)).join();
        long floodStart = System.nanoTime(); // the surplus exists from here
        long floodStartMs = System.currentTimeMillis();
        assertThat(Queues.backlog(nc, q)).isGreaterThan(window + slack);

        AtomicLong backAt = new AtomicLong();
        java.util.SortedSet<Long> audits = new java.util.TreeSet<>();
        java.util.SortedSet<Long> announcements = new java.util.TreeSet<>(); // debt ids: unix ms
        io.nats.client.KeyValue control =
            nc.keyValue(dev.sluice.internal.wire.Protocol.CONTROL_BUCKET);
        String leaseKey = dev.sluice.internal.wire.Protocol.reconcilerKey(q);
        await()
            .atMost(Duration.ofSeconds(120))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  io.nats.client.api.KeyValueEntry e = control.get(leaseKey);
                  if (e != null) {
                    var lease = dev.sluice.internal.proto.ReconcilerLease.parseFrom(e.getValue());
                    audits.add(lease.getLast().getAuditUnixMs());
                    if (lease.getDebtId() >= floodStartMs) {
                      announcements.add(lease.getDebtId());
                    }
                  }
                  if (Queues.backlog(nc, q) <= window + slack) {
                    backAt.set(System.nanoTime());
                    return true;
                  }
                  return false;
                });
        double recoverySeconds = (backAt.get() - floodStart) / 1e9;
        double rate = (handled.get() - handledAtFlood) / recoverySeconds;
        double drainSeconds = FLOOD / rate;
        // The audit period as it ran: the configured interval plus each audit's own time, which
        // grows on a loaded machine (observed between the audits seen during the recovery).
        double auditSeconds =
            audits.size() < 2
                ? AUDIT.toMillis() / 1000.0
                : Math.max(
                        AUDIT.toMillis(), (audits.last() - audits.first()) / (audits.size() - 1.0))
                    / 1000.0;
        // The target is drain + 2 audit periods: the surplus is read at the next audit (at most a
        // period after the flood is stored), confirmed a quarter period later and announced at
        // once; from then the backlog falls at the worker's rate. What does not scale with the
        // period is allowed on top, 0.25 s: the 100 ms the reconciler spends fetching unheld
        // tokens before it announces, and the audits' own reads. (This allowed 4 periods while a
        // surplus that grew during its first reading was announced in two parts, the second
        // waiting for the worker's next heartbeat to show it had read the first and then for a
        // whole period; the reconciler now reads its own worker's debt_seen live and reads such a
        // rest again a quarter period later.) Five runs here measured drain + 0.9 to 1.4 periods.
        // Without debts the same flood stayed above the bound for 60 s and more: the reconciler
        // lost every token race to the saturating producer.
        double bound = drainSeconds + 2 * auditSeconds + 0.25;
        System.out.printf(
            "fast burn: back within W+slack (%d) after %.2f s; drain %.2f s at %.0f msg/s;"
                + " audit period %.3f s; bound %.2f s; debts announced at %s s after the flood%n",
            window + slack,
            recoverySeconds,
            drainSeconds,
            rate,
            auditSeconds,
            bound,
            announcements.stream()
                .map(t -> String.format("%.2f", (t - floodStartMs) / 1e3))
                .toList());
        assertThat(recoverySeconds).isLessThanOrEqualTo(bound);

        // And it stays there: the producer is still saturating, the surplus is gone for good.
        long untilMs = System.currentTimeMillis() + 4 * AUDIT.toMillis();
        AtomicLong worst = new AtomicLong();
        await()
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  worst.accumulateAndGet(Queues.backlog(nc, q), Math::max);
                  return System.currentTimeMillis() >= untilMs;
                });
        assertThat(worst.get()).isLessThanOrEqualTo(window + slack);
        producing.set(false);
        saturate.join();
      }
    }
  }

  /**
   * A debt the workers still withhold is out of circulation (§5.5): the reconciler counts it so,
   * and {@link Sluice#inspect} must too. A debt announced just before the load stops stays pending
   * until messages flow again; an inspection that counted it as circulating read a surplus for as
   * long as the queue was idle, and the fault suite's convergence check (deficit 0 for 3 s) failed
   * after a whole-cluster restart. Here a reconciler elsewhere (a lease held by another process)
   * announces a debt of 3 to the only worker, and the stored tokens exceed the window by exactly
   * that debt.
   */
  @Test
  void aPendingDebtIsOutOfCirculationInTheInspectionUntilTheWorkerPaysIt() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      io.nats.client.KeyValue control =
          nc.keyValue(dev.sluice.internal.wire.Protocol.CONTROL_BUCKET);
      io.nats.client.KeyValue capacity =
          nc.keyValue(dev.sluice.internal.wire.Protocol.CAPACITY_BUCKET);
      String leaseKey = dev.sluice.internal.wire.Protocol.reconcilerKey(q);
      control.put(leaseKey, foreignLease(1, java.util.Map.of()).toByteArray());
      AtomicInteger handled = new AtomicInteger();
      try (Worker w =
          Queues.quickWorker(nc, q)
              .workerId("w1")
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (body, ctx) -> handled.incrementAndGet())
              .start()) {
        // The worker's first reading of the lease only sets where it starts.
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> rawAdvert(capacity, q, "w1").getDebtSeen() == 1);
        control.put(leaseKey, foreignLease(2, java.util.Map.of("w1", 3L)).toByteArray());
        await().atMost(Duration.ofSeconds(10)).until(() -> workerDebt(sluice, q) == 3);

        long window = w.advertisedCapacity();
        mintRaw(nc, q, window + 3);
        // Idle queue: nothing finishes, so the debt stays, and the credits balance.
        await()
            .during(Duration.ofSeconds(1))
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return in.window() == window
                      && in.tokens() == window + 3
                      && in.debt() == 3
                      && in.deficit() == 0;
                });

        // Three messages finish: the worker withholds their three credits instead of minting. (What
        // the producer does with the rest of its token is the reconciler's to heal, and there is
        // none here.)
        try (QueueProducer p = sluice.producer(q).build()) {
          for (int i = 0; i < 3; i++) {
            p.send(OutgoingMessage.of(JOB, "m" + i));
          }
        }
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> {
                  QueueInspection in = sluice.inspect(q);
                  return handled.get() == 3 && in.debt() == 0 && in.backlog() == 0;
                });
        // Paid by withholding: the three finished messages minted nothing.
        dev.sluice.internal.proto.CapacityAdvert paid = rawAdvert(capacity, q, "w1");
        assertThat(paid.getCompletedTotal()).isEqualTo(3);
        assertThat(paid.getMintedTotal()).isZero();
      }
    }
  }

  private static dev.sluice.internal.proto.ReconcilerLease foreignLease(
      long debtId, java.util.Map<String, Long> debts) {
    return dev.sluice.internal.proto.ReconcilerLease.newBuilder()
        .setHolder("a-reconciler-elsewhere")
        .setExpiresUnixMs(System.currentTimeMillis() + Duration.ofHours(1).toMillis())
        .setDebtId(debtId)
        .putAllDebts(debts)
        .build();
  }

  private static dev.sluice.internal.proto.CapacityAdvert rawAdvert(
      io.nats.client.KeyValue capacity, String q, String workerId) throws Exception {
    io.nats.client.api.KeyValueEntry e =
        capacity.get(dev.sluice.internal.wire.Protocol.advertKey(q, workerId));
    return e == null || e.getValue() == null
        ? dev.sluice.internal.proto.CapacityAdvert.getDefaultInstance()
        : dev.sluice.internal.proto.CapacityAdvert.parseFrom(e.getValue());
  }

  private static long workerDebt(Sluice sluice, String q) {
    return sluice.inspect(q).liveWorkers().stream().mapToLong(WorkerAdvert::debt).sum();
  }

  /** Publishes tokens worth {@code credits} (powers of two), as an operator's standing buffer. */
  private static void mintRaw(Connection nc, String q, long credits) throws Exception {
    for (long n = Long.highestOneBit(credits); n > 0; n >>= 1) {
      if ((credits & n) != 0) {
        io.nats.client.impl.Headers h = new io.nats.client.impl.Headers();
        h.put("Nats-Msg-Id", q + "-test-token-" + n);
        nc.jetStream()
            .publish(
                io.nats.client.impl.NatsMessage.builder()
                    .subject(dev.sluice.internal.wire.Protocol.creditSubject(q, n))
                    .headers(h)
                    .data(new byte[0])
                    .build());
      }
    }
  }
}
