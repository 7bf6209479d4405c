package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.proto.WorkerState;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet-wide rate limit (protocol §15.2): credits enter circulation no faster than the rate,
 * whatever the workers' capacity; a rate raised, lowered or removed by provisioning again takes
 * effect; a worker that does not mint within the rate is flagged.
 */
class RateLimitTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  /** Handler start times, in nanoseconds, and what was handled. */
  private final ConcurrentLinkedQueue<Long> starts = new ConcurrentLinkedQueue<>();

  private final Set<String> handled = ConcurrentHashMap.newKeySet();
  private final AtomicInteger count = new AtomicInteger();

  @Test
  void twoWorkersAndASaturatingProducerRunAtTheRateAsItChanges() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect();
        Connection pc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).rateLimit(100, 20).build());
      Set<String> acked = ConcurrentHashMap.newKeySet();
      AtomicBoolean producing = new AtomicBoolean(true);
      try (Worker w1 = worker(nc, q);
          Worker w2 = worker(nc, q);
          QueueProducer p =
              Sluice.using(pc).producer(q).acquireTimeout(Duration.ofSeconds(120)).build()) {
        // Each worker could take 32 at once and handles in microseconds: capacity is no limit.
        Thread saturate = saturate(p, producing, acked);
        saturate.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> count.get() >= 100);
        // The limit is a ceiling; how close a queue runs to it on a loaded machine is measured by
        // `scripts/bench rate-limit` (error ≤ 5 %), not asserted here. Below: never above the
        // limit, and clearly flowing.
        double rate = rateOver(500, Duration.ofSeconds(30));
        assertThat(rate).as("observed rate at 100/s").isBetween(50.0, 110.0);
        assertThat(maxInOneSecond()).as("most sends in any 1 s window").isLessThanOrEqualTo(120);
        // An inspection is a snapshot of the live adverts: under load one heartbeat can be late
        // and a worker briefly missing from it, so the figures are awaited, not read once.
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  QueueInspection limited = sluice.inspect(q);
                  assertThat(limited.rateLimit()).isPresent();
                  assertThat(limited.rateLimit().get().describe()).isEqualTo("100/s (burst 20)");
                  assertThat(limited.rateLimit().get().unlimitedWorkers()).isEmpty();
                  assertThat(limited.rateLimit().get().shares()).hasSize(2);
                  // The window (64 from the two workers' capacity) is capped by the burst less
                  // the pacing allowance (5 + 2 workers).
                  assertThat(limited.rateLimit().get().capacityWindow()).isEqualTo(64);
                  assertThat(limited.window()).isEqualTo(13);
                });

        // Raised: takes effect within a heartbeat.
        sluice.provision(QueueSpec.builder(q).rateLimit(300, 80).build());
        rateOver(150, Duration.ofSeconds(30)); // the change reaches every worker
        // Above what the old limit lets through (100/s, burst 20), at most the new one.
        assertThat(rateOver(900, Duration.ofSeconds(30)))
            .as("observed rate at 300/s")
            .isBetween(150.0, 330.0);

        // Lowered while credits circulate: the surplus is burned, the rate drops.
        sluice.provision(QueueSpec.builder(q).rateLimit(50, 20).build());
        rateOver(100, Duration.ofSeconds(30));
        assertThat(rateOver(200, Duration.ofSeconds(30)))
            .as("observed rate after lowering to 50/s")
            .isBetween(25.0, 55.0);

        // Removed: the queue runs as fast as its workers.
        sluice.provision(QueueSpec.builder(q).build());
        rateOver(100, Duration.ofSeconds(30));
        assertThat(rateOver(1000, Duration.ofSeconds(30)))
            .as("observed rate without a limit")
            .isGreaterThan(150.0);
        assertThat(sluice.inspect(q).rateLimit()).isEmpty();

        producing.set(false);
        saturate.join();
        // Nothing lost: every send the server acknowledged is handled.
        await().atMost(Duration.ofSeconds(30)).until(() -> handled.containsAll(acked));
      }
    }
  }

  @Test
  void aWorkerThatDoesNotMintWithinTheRateIsFlagged() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).rateLimit(100, 40).build());
      KeyValue capacity = nc.keyValue(Protocol.CAPACITY_BUCKET);
      // A revision-1.2 worker: it never writes rate_limited.
      CapacityAdvert old =
          CapacityAdvert.newBuilder()
              .setWorkerId("old-1")
              .setQueue(q)
              .setProtocolVersion(1)
              .setCapacity(8)
              .setState(WorkerState.WORKER_STATE_RUNNING)
              .setLanguage("go")
              .setHeartbeatUnixMs(System.currentTimeMillis())
              .setTtlMs(60_000)
              .build();
      capacity.put(Protocol.advertKey(q, "old-1"), old.toByteArray());
      io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
          new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      try (Worker w =
          Queues.quickWorker(nc, q).handle(JOB, (s, ctx) -> {}).meterRegistry(registry).start()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  RateLimit r = sluice.inspect(q).rateLimit().orElseThrow();
                  assertThat(r.unlimitedWorkers()).containsExactly("old-1");
                  assertThat(r.shares()).containsOnlyKeys(w.workerId());
                  // The rate-aware worker's share counts only rate-aware capacity: all of it.
                  assertThat(r.shares().get(w.workerId())).isEqualTo(100.0);
                });
        KeyValue control = nc.keyValue(Protocol.CONTROL_BUCKET);
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  KeyValueEntry e = control.get(Protocol.reconcilerKey(q));
                  assertThat(e).isNotNull();
                  var ledger = ReconcilerLease.parseFrom(e.getValue()).getLast();
                  assertThat(ledger.getUnlimitedWorkers()).isEqualTo(1);
                  assertThat(ledger.getRatePerSecond()).isEqualTo(100.0);
                });
        assertThat(registry.get("sluice.queue.rate.limit").tag("queue", q).gauge().value())
            .isEqualTo(100.0);
        assertThat(registry.get("sluice.worker.rate.share").tag("queue", q).gauge().value())
            .isEqualTo(100.0);
      }
    }
  }

  @Test
  void badRatesAreRefusedWithWhatToDo(@TempDir Path dir) throws Exception {
    QueueSpec.Builder b = QueueSpec.builder("orders");
    assertThatThrownBy(() -> b.rateLimit(0, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("above 0")
        .hasMessageContaining("without one");
    assertThatThrownBy(() -> b.rateLimit(-1, 10)).hasMessageContaining("above 0");
    assertThatThrownBy(() -> b.rateLimit(Double.NaN, 10)).hasMessageContaining("finite");
    assertThatThrownBy(() -> b.rateLimit(100, 0)).hasMessageContaining("burst must be at least 1");
    assertThat(b.rateLimit(100, 1).build().rateBurst()).isEqualTo(1);

    Files.createDirectories(dir.resolve("queues"));
    Files.writeString(
        dir.resolve("queues/orders.json"), "{\"queue\": \"orders\", \"rate_per_second\": 100}");
    try (Connection nc = NATS.server().connect()) {
      assertThatThrownBy(() -> Sluice.using(nc).apply(dir, true))
          .isInstanceOf(TopologyException.class)
          .hasMessageContaining("rate_burst")
          .hasMessageContaining("a rate limit needs both");
      Files.writeString(
          dir.resolve("queues/orders.json"),
          "{\"queue\": \"orders\", \"rate_per_second\": 0, \"rate_burst\": 5}");
      assertThatThrownBy(() -> Sluice.using(nc).apply(dir, true))
          .isInstanceOf(TopologyException.class)
          .hasMessageContaining("rate_per_second")
          .hasMessageContaining("above 0");
    }
  }

  private Worker worker(Connection nc, String q) {
    return Queues.quickWorker(nc, q)
        .handle(
            JOB,
            (s, ctx) -> {
              starts.add(System.nanoTime());
              handled.add(s);
              count.incrementAndGet();
            })
        .concurrency(4)
        .prefetch(28) // capacity 32: the window (64) is far above what the rates below need
        .start();
  }

  private static Thread saturate(QueueProducer p, AtomicBoolean producing, Set<String> acked) {
    return new Thread(
        () -> {
          List<CompletableFuture<SendResult>> inFlight = new ArrayList<>();
          int sent = 0;
          while (producing.get()) {
            inFlight.removeIf(CompletableFuture::isDone);
            while (inFlight.size() < 200) {
              String body = "m" + sent++;
              inFlight.add(
                  p.sendAsync(OutgoingMessage.of(JOB, body))
                      .whenComplete(
                          (r, e) -> {
                            if (e == null) {
                              acked.add(body);
                            }
                          }));
            }
            try {
              Thread.sleep(2);
            } catch (InterruptedException e) {
              return;
            }
          }
          inFlight.forEach(CompletableFuture::join);
        });
  }

  /** Waits for {@code n} more handled messages; returns how many per second they came. */
  private double rateOver(int n, Duration atMost) {
    int from = count.get();
    long t0 = System.nanoTime();
    await().atMost(atMost).until(() -> count.get() >= from + n);
    double s = (System.nanoTime() - t0) / 1e9;
    return (count.get() - from) / s;
  }

  /** The most handler starts in any one-second window so far. */
  private int maxInOneSecond() {
    long[] t = starts.stream().mapToLong(Long::longValue).sorted().toArray();
    int best = 0;
    int j = 0;
    for (int i = 0; i < t.length; i++) {
      while (t[i] - t[j] >= 1_000_000_000L) {
        j++;
      }
      best = Math.max(best, i - j + 1);
    }
    return best;
  }
}
