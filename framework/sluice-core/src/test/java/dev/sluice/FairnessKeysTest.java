package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Fairness keys (protocol §15.3) as a user sees them, on a real server. */
class FairnessKeysTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static OutgoingMessage keyed(String key, String body) {
    return OutgoingMessage.builder(Queues.TYPE, 1, body.getBytes()).fairnessKey(key).build();
  }

  @Test
  void aQuietKeysSendsAreHandledWhileTheFloodQueuedBeforeThemStillWaits() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(1).build());
      List<String> handled = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch open = new CountDownLatch(1);
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .concurrency(1)
                  .prefetch(1)
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        open.await(10, TimeUnit.SECONDS);
                        handled.add(s);
                      })
                  .start();
          QueueProducer p = sluice.producer(q).build()) {
        // The window is 2 (concurrency + prefetch): the flood's first sends take it, the rest wait.
        List<CompletableFuture<SendResult>> sends = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
          sends.add(p.sendAsync(keyed("flood", "flood-" + i)));
        }
        // The window (the worker's capacity) takes the first flood sends; the rest wait.
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> p.waiting() >= 30 && p.waiting() + p.sentTotal() == 40);
        long ahead = p.sentTotal();
        sends.add(p.sendAsync(keyed("quiet", "quiet-0")));
        sends.add(p.sendAsync(keyed("quiet", "quiet-1")));
        open.countDown();
        CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == 42);
        // In arrival order the quiet sends would be the 41st and 42nd handled; served fairly,
        // each waits behind at most the window plus one flood send per quiet one.
        assertThat(handled.indexOf("quiet-0")).isLessThan((int) ahead + 3);
        assertThat(handled.indexOf("quiet-1")).isLessThan((int) ahead + 5);
        assertThat(w.deadLetteredCount()).isZero();
      }
    }
  }

  @Test
  void theProducersReportListsItsKeysWithWeightsWaitingAndGrants() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(
          QueueSpec.builder(q).standingBuffer(3).tokenBatch(1).fairnessWeight("gold", 4).build());
      try (QueueProducer p =
          sluice
              .producer(q)
              .fairnessWeight("silver", 2)
              .idleReturn(Duration.ofMinutes(1))
              .acquireTimeout(Duration.ofSeconds(20))
              .build()) {
        for (int i = 0; i < 5; i++) {
          p.sendAsync(keyed("gold", "g" + i));
          p.sendAsync(keyed("silver", "s" + i));
        }
        var control = nc.keyValue(Protocol.CONTROL_BUCKET);
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  ProducerReport r =
                      ProducerReport.parseFrom(
                          control.get(Protocol.producerKey(q, p.producerId())).getValue());
                  assertThat(r.getFairnessKeysList())
                      .extracting(k -> k.getKey() + ":" + k.getWeight())
                      .containsExactlyInAnyOrder("gold:4", "silver:2");
                  assertThat(
                          r.getFairnessKeysList().stream()
                              .mapToLong(k -> k.getGrantedTotal())
                              .sum())
                      .isEqualTo(3);
                  assertThat(r.getFairnessKeysList().stream().mapToInt(k -> k.getWaiting()).sum())
                      .isEqualTo(7);
                });
      }
    }
  }

  @Test
  void aScheduledMessageFiresWithItsKeyAndGrantsAreCountedPerKey() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(4).build());
      Map<String, String> keys = new java.util.concurrent.ConcurrentHashMap<>();
      io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
          new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .handle(
                      JOB,
                      (s, ctx) ->
                          keys.put(
                              s, String.valueOf(ctx.headers().get(SluiceHeaders.FAIRNESS_KEY))))
                  .start();
          QueueProducer p = sluice.producer(q).meterRegistry(registry).build();
          Scheduler sch = sluice.scheduler(q).leaseInterval(Duration.ofMillis(300)).start()) {
        p.sendAfter(keyed("tenant-later", "later"), Duration.ofMillis(500));
        p.send(keyed("tenant-now", "now-1"));
        p.send(keyed("tenant-now", "now-2"));
        await().atMost(Duration.ofSeconds(20)).until(() -> keys.size() == 3);
        assertThat(keys)
            .containsEntry("later", "tenant-later")
            .containsEntry("now-1", "tenant-now")
            .containsEntry("now-2", "tenant-now");
        assertThat(
                registry
                    .get("sluice.producer.fairness.granted")
                    .tag("key", "tenant-now")
                    .counter()
                    .count())
            .isEqualTo(2);
      }
    }
  }

  @Test
  void queueWeightsFromAConfigFileAreAppliedAndBadOnesNamed(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    String q = NATS.uniqueName("q");
    java.nio.file.Path queues = java.nio.file.Files.createDirectories(dir.resolve("queues"));
    java.nio.file.Path file = queues.resolve(q + ".json");
    java.nio.file.Files.writeString(
        file, "{\"queue\": \"" + q + "\", \"fairness_weights\": {\"gold\": 0}}");
    assertThatThrownBy(() -> dev.sluice.internal.topology.ConfigLoader.load(dir))
        .hasMessageContaining(file.toString())
        .hasMessageContaining("field 'fairness_weights.gold'")
        .hasMessageContaining("[1, 10000], got 0");
    java.nio.file.Files.writeString(
        file, "{\"queue\": \"" + q + "\", \"fairness_weights\": {\"gold\": 4}}");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      ApplyReport r = sluice.apply(dir, false);
      assertThat(r.changes())
          .filteredOn(c -> c.kind().equals("queue"))
          .singleElement()
          .satisfies(
              c ->
                  assertThat(c.diffs())
                      .containsExactly("fairness_weights: server={}, wanted={gold=4}"));
      assertThat(sluice.apply(dir, false).changed()).isFalse();
      assertThat(QueueSpec.builder(q).fairnessWeight("gold", 4).build().fairnessWeights())
          .containsEntry("gold", 4);
    }
  }

  @Test
  void badKeysAndWeightsAreRefusedWithWhatToDo() {
    String tooLong = "t".repeat(65);
    assertThatThrownBy(() -> OutgoingMessage.builder("t", 1, new byte[0]).fairnessKey(tooLong))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be 1-64 characters of [A-Za-z0-9_.:@-]")
        .hasMessageContaining("hash");
    assertThatThrownBy(() -> OutgoingMessage.builder("t", 1, new byte[0]).fairnessKey("a b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OutgoingMessage.builder("t", 1, new byte[0]).fairnessKey(""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(OutgoingMessage.builder("t", 1, new byte[0]).fairnessKey("t".repeat(64)).build())
        .extracting(OutgoingMessage::fairnessKey)
        .isEqualTo("t".repeat(64));
    assertThatThrownBy(() -> QueueSpec.builder("q").fairnessWeight("a", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be in [1, 10000], got 0");
    assertThatThrownBy(() -> QueueSpec.builder("q").fairnessWeight("a", -3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("got -3");
  }

  @Test
  void aProducerRefusesAZeroOrNegativeWeight() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      QueueProducer.Builder b = Sluice.using(nc).producer(Queues.provision(nc, NATS));
      assertThatThrownBy(() -> b.fairnessWeight("tenant-1", 0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fairness weight of key 'tenant-1' must be in [1, 10000], got 0");
      assertThatThrownBy(() -> b.fairnessWeight("tenant-1", -1))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> b.fairnessWeight("bad key", 2))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("1-64 characters");
    }
  }

  @Test
  void aWorkerHandlesABadKeyFromARawPublisherAndDeadLetterRecordsKeepTheKey() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = Queues.provision(nc, NATS);
      Map<String, String> good = Queues.goodHeaders(1);
      good.put(SluiceHeaders.FAIRNESS_KEY, "x".repeat(100) + " !");
      Map<String, String> seen = new java.util.concurrent.ConcurrentHashMap<>();
      try (Worker w =
              Queues.quickWorker(nc, q)
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        seen.put(s, String.valueOf(ctx.headers().get(SluiceHeaders.FAIRNESS_KEY)));
                        if (s.equals("fail")) {
                          throw new RejectMessageException("refused");
                        }
                      })
                  .start();
          QueueProducer p = Sluice.using(nc).producer(q).build()) {
        Queues.rawPublish(nc, q, good, "raw".getBytes());
        p.send(keyed("tenant-7", "fail"));
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> seen.size() == 2 && w.deadLetteredCount() == 1);
        // The malformed key is ignored for fairness and never a reason to dead-letter.
        assertThat(seen.get("raw")).contains("x".repeat(100));
        assertThat(seen.get("fail")).contains("tenant-7");
        List<Message> records = Queues.deadLetters(nc, q);
        assertThat(records).hasSize(1);
        assertThat(records.get(0).getHeaders().getFirst(SluiceHeaders.FAIRNESS_KEY))
            .isEqualTo("tenant-7");
      }
    }
  }
}
