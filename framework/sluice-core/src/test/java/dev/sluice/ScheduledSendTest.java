package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Delayed and scheduled sends on a real server, as a user writes them (protocol §13). */
class ScheduledSendTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  /** Every handled message id with the time it was handled and its trace id. */
  record Seen(String id, long atMs, String traceId, String payload) {}

  static Worker.Builder worker(Sluice sluice, String q, List<Seen> seen) {
    return Queues.quickWorker(sluice.connection(), q)
        .handle(
            JOB,
            (s, ctx) ->
                seen.add(new Seen(ctx.messageId(), System.currentTimeMillis(), ctx.traceId(), s)));
  }

  static Scheduler scheduler(Sluice sluice, String q) {
    return sluice.scheduler(q).leaseInterval(Duration.ofMillis(300)).start();
  }

  static String provision(Sluice sluice) {
    String q = NATS.uniqueName("q");
    sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
    return q;
  }

  @Test
  void aDelayedMessageTakesNoCreditWhileItWaitsThenRunsOnceWithItsTrace() {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = provision(sluice);
      List<Seen> seen = new CopyOnWriteArrayList<>();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (Worker w = worker(sluice, q, seen).start();
          QueueProducer p = sluice.producer(q).build();
          Scheduler s =
              sluice
                  .scheduler(q)
                  .leaseInterval(Duration.ofMillis(300))
                  .meterRegistry(registry)
                  .start()) {
        long before = System.currentTimeMillis();
        ScheduledSend sent = p.sendAfter(OutgoingMessage.of(JOB, "later"), Duration.ofSeconds(2));

        assertThat(sent.dueAt().toEpochMilli()).isGreaterThanOrEqualTo(before + 2_000);
        assertThat(sluice.schedules(q).count()).isEqualTo(1);
        assertThat(Queues.backlog(nc, q)).isZero(); // waiting, it is not in the queue
        assertThat(p.creditsHeld()).isZero(); // and it took no credit

        await().atMost(Duration.ofSeconds(15)).until(() -> seen.size() == 1);
        Seen got = seen.get(0);
        assertThat(got.id()).isEqualTo(sent.messageId());
        assertThat(got.payload()).isEqualTo("later");
        assertThat(got.atMs()).isGreaterThanOrEqualTo(sent.dueAt().toEpochMilli());
        // The trace continues from the sendAfter call to the handler.
        assertThat(got.traceId()).isEqualTo(sent.traceparent().split("-")[1]);
        await().atMost(Duration.ofSeconds(5)).until(() -> sluice.schedules(q).count() == 0);
        assertThat(s.fired()).isEqualTo(1);
        assertThat(s.pending()).isZero();
        assertThat(s.firstFiredAtMillis()).isGreaterThanOrEqualTo(sent.dueAt().toEpochMilli());
        // Its lateness (fired minus due) is measured.
        assertThat(registry.get("sluice.scheduler.lateness").tag("queue", q).timer().count())
            .isEqualTo(1);
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void cancelBeforeDueRemovesItAndCancelAfterFiringFindsNothing() {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = provision(sluice);
      List<Seen> seen = new CopyOnWriteArrayList<>();
      try (Worker w = worker(sluice, q, seen).start();
          QueueProducer p = sluice.producer(q).build();
          Scheduler s = scheduler(sluice, q)) {
        ScheduledSend cancelled =
            p.sendAfter(OutgoingMessage.of(JOB, "cancelled"), Duration.ofMillis(1500));
        ScheduledSend kept =
            p.sendAfterAsync(OutgoingMessage.of(JOB, "kept"), Duration.ofMillis(2500)).join();

        assertThat(p.cancel(cancelled.messageId())).isTrue();
        assertThat(sluice.schedules(q).find(cancelled.messageId())).isEmpty();
        assertThat(p.cancel(cancelled.messageId())).isFalse(); // nothing left to cancel

        // The kept one is due a second after the cancelled one would have been.
        await().atMost(Duration.ofSeconds(15)).until(() -> !seen.isEmpty());
        assertThat(seen).extracting(Seen::id).containsExactly(kept.messageId());
        // Once fired (and its entry removed), there is nothing to cancel; it was handled once.
        await().atMost(Duration.ofSeconds(5)).until(() -> sluice.schedules(q).count() == 0);
        assertThat(p.cancel(kept.messageId())).isFalse();
        assertThat(seen).hasSize(1);
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void limitsAreValidatedWithClearErrors() {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = provision(sluice);
      List<Seen> seen = new CopyOnWriteArrayList<>();
      try (QueueProducer p = sluice.producer(q).build()) {
        assertThatThrownBy(() -> p.sendAfter(OutgoingMessage.of(JOB, "x"), Duration.ofDays(400)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("at most 366 days ahead");
        assertThatThrownBy(() -> p.schedule("nightly", "0 25 * * *", OutgoingMessage.of(JOB, "x")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("field hour '25' is invalid");
        assertThatThrownBy(() -> p.schedule("nightly", "0 2 * *", OutgoingMessage.of(JOB, "x")))
            .hasMessageContaining("has 4 fields; expected 5");
        assertThatThrownBy(() -> p.schedule("bad id", "0 2 * * *", OutgoingMessage.of(JOB, "x")))
            .hasMessageContaining("schedule id 'bad id'");
        assertThat(sluice.schedules(q).count()).isZero();

        // A retried call stores the schedule once.
        OutgoingMessage once =
            OutgoingMessage.builder(Queues.TYPE, 1, "once".getBytes()).messageId("once").build();
        Instant at = Instant.now().plusSeconds(3600);
        assertThat(p.sendAt(once, at).duplicate()).isFalse();
        assertThat(p.sendAt(once, at).duplicate()).isTrue();
        assertThat(p.cancel("once")).isTrue();

        // A time in the past fires now.
        ScheduledSend past =
            p.sendAt(OutgoingMessage.of(JOB, "past"), Instant.now().minusSeconds(3600));
        assertThat(past.dueAt()).isAfter(Instant.now().minusSeconds(5));
        try (Worker w = worker(sluice, q, seen).start();
            Scheduler s = scheduler(sluice, q)) {
          await().atMost(Duration.ofSeconds(15)).until(() -> seen.size() == 1);
          assertThat(seen.get(0).id()).isEqualTo(past.messageId());
        }
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aThousandDueAtOnceEnterTheQueueOnlyAsCreditsAllow() throws Exception {
    String q = NATS.uniqueName("q");
    int batch = 4;
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(batch).build());
      Map<String, Integer> handled = new ConcurrentHashMap<>();
      try (QueueProducer p = sluice.producer(q).build()) {
        Instant due = Instant.now().plusSeconds(2);
        List<java.util.concurrent.CompletableFuture<ScheduledSend>> fs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
          fs.add(p.sendAtAsync(OutgoingMessage.of(JOB, "burst-" + i), due));
        }
        fs.forEach(java.util.concurrent.CompletableFuture::join);
      }
      assertThat(sluice.schedules(q).count()).isEqualTo(1000);
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        Thread.sleep(2); // slower than the burst
                        handled.merge(ctx.messageId(), 1, Integer::sum);
                      })
                  .concurrency(4)
                  .prefetch(4)
                  .start();
          Scheduler s = scheduler(sluice, q)) {
        long window = w.advertisedCapacity();
        long slack = batch - 1;
        AtomicLong maxBacklog = new AtomicLong();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler =
            new Thread(
                () -> {
                  while (sampling.get()) {
                    maxBacklog.accumulateAndGet(Queues.backlog(nc, q), Math::max);
                    try {
                      Thread.sleep(5);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
        sampler.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> handled.size() == 1000);
        sampling.set(false);
        sampler.join();

        assertThat(handled.values()).allMatch(n -> n == 1);
        assertThat(maxBacklog.get()).isLessThanOrEqualTo(window + slack).isGreaterThan(0);
        await().atMost(Duration.ofSeconds(5)).until(() -> sluice.schedules(q).count() == 0);
      }
    }
  }

  @Test
  void twoSchedulersRaceAndOnlyOneFires() throws Exception {
    try (Connection nc = NATS.server().connect();
        Connection nc2 = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = provision(sluice);
      Map<String, Integer> handled = new ConcurrentHashMap<>();
      try (QueueProducer p = sluice.producer(q).build()) {
        for (int i = 0; i < 200; i++) {
          p.sendAfter(OutgoingMessage.of(JOB, "m" + i), Duration.ofMillis(500 + 10L * i));
        }
      }
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .handle(JOB, (s, ctx) -> handled.merge(ctx.messageId(), 1, Integer::sum))
                  .start();
          Scheduler a = scheduler(sluice, q);
          Scheduler b = scheduler(Sluice.using(nc2), q)) {
        await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == 200);

        assertThat(handled.values()).allMatch(n -> n == 1);
        assertThat(List.of(a.isFiring(), b.isFiring())).containsExactlyInAnyOrder(true, false);
        assertThat(List.of(a.fired(), b.fired())).containsExactlyInAnyOrder(200L, 0L);
        assertThat(Queues.backlog(nc, q)).isZero();
      }
    }
  }

  @Test
  void aTypeNoLiveWorkerHandlesIsRefusedAtScheduleTimeAndHeldAtDueTime() throws Exception {
    Codec<String> other = Codec.utf8("test.Other", 1);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String q = provision(sluice);
      List<Seen> seen = new CopyOnWriteArrayList<>();
      AtomicInteger otherHandled = new AtomicInteger();
      try (QueueProducer p = sluice.producer(q).build()) {
        // No worker is live yet: nothing to check against, as for a send.
        ScheduledSend held = p.sendAfter(OutgoingMessage.of(other, "o"), Duration.ofMillis(800));
        try (Worker w = worker(sluice, q, seen).start();
            Scheduler s = scheduler(sluice, q)) {
          // Once the producer sees a live worker that does not handle it, scheduling is refused
          // like a send. (An attempt made before that stores "o2", which is cancelled below.)
          OutgoingMessage o2 =
              OutgoingMessage.builder("test.Other", 1, "o2".getBytes()).messageId("o2").build();
          await()
              .atMost(Duration.ofSeconds(10))
              .untilAsserted(
                  () ->
                      assertThatThrownBy(() -> p.sendAfter(o2, Duration.ofSeconds(1)))
                          .isInstanceOf(UnsupportedVersionException.class)
                          .hasMessageContaining("test.Other"));
          p.cancel("o2");
          ScheduledSend ok = p.sendAfter(OutgoingMessage.of(JOB, "j"), Duration.ofMillis(1500));

          // The handled one fires; the other is held in the schedule, overdue, taking no credit.
          await().atMost(Duration.ofSeconds(15)).until(() -> seen.size() == 1);
          assertThat(seen.get(0).id()).isEqualTo(ok.messageId());
          Schedules.Summary sum = sluice.schedules(q).summary(Instant.now());
          assertThat(sum.count()).isEqualTo(1);
          assertThat(sum.overdue()).isEqualTo(1);
          assertThat(sum.firer()).contains(s.id());
          assertThat(sluice.schedules(q).find(held.messageId())).isPresent();

          // Once a worker that handles it replaces the one that does not, it fires. (With both
          // live, the other worker's grace NAKs would only delay its handling.)
          w.close();
          try (Worker w2 =
              Queues.quickWorker(nc, q)
                  .handle(other, (v, ctx) -> otherHandled.incrementAndGet())
                  .start()) {
            await().atMost(Duration.ofSeconds(15)).until(() -> otherHandled.get() == 1);
          }
        }
      }
    }
  }
}
