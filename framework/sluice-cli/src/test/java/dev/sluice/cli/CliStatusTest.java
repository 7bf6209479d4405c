package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.JOB;
import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.codes;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.rawPublish;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.Backoff;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code status}, {@code workers}, {@code credits}, {@code top}, {@code peek} and {@code explain}
 * run in-process against a real nats-server, with real queues in each state.
 */
class CliStatusTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void healthyQueueWithAWorkerThatProcessedMessages() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).tokenBatch(4).build());
      Set<String> seen = ConcurrentHashMap.newKeySet();
      try (Worker w =
              sluice
                  .worker(q)
                  .workerId("w-healthy")
                  .concurrency(2)
                  .prefetch(2)
                  .handle(JOB, (s, ctx) -> seen.add(s))
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        for (int i = 0; i < 10; i++) {
          p.send(OutgoingMessage.of(JOB, "job-" + i));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 10);
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  Run r = cli("status", q, "--json");
                  assertThat(r.code()).as(r.err()).isZero();
                  JsonValue s = r.queue();
                  assertThat(str(s, "queue")).isEqualTo(q);
                  assertThat(str(s, "health")).isEqualTo("healthy");
                  assertThat(num(s, "backlog")).isZero();
                  assertThat(num(s, "in_flight")).isZero();
                  assertThat(num(s, "live_workers")).isEqualTo(1);
                  assertThat(num(s, "window")).isEqualTo(4);
                  assertThat(num(s, "dead_letters")).isZero();
                  assertThat(num(s, "hard_limit")).isEqualTo(100_000);
                  assertThat(str(s, "consumer")).isEqualTo("ok");
                });

        Run workers = cli("workers", q, "--json");
        assertThat(workers.code()).isZero();
        JsonValue wj = workers.json().map.get("workers").array.get(0);
        assertThat(str(wj, "worker_id")).isEqualTo("w-healthy");
        assertThat(str(wj, "state")).isEqualTo("running");
        assertThat(num(wj, "capacity")).isEqualTo(4);
        assertThat(str(wj, "language")).isEqualTo("java");
        assertThat(num(wj, "protocol_version")).isEqualTo(1);
        JsonValue handled = wj.map.get("handled").array.get(0);
        assertThat(str(handled, "type")).isEqualTo("test.Job");
        assertThat(num(handled, "min_version")).isEqualTo(1);
        assertThat(num(handled, "max_version")).isEqualTo(1);

        Run credits = cli("credits", q, "--json");
        assertThat(credits.code()).isZero();
        JsonValue c = credits.json().map.get("queues").array.get(0);
        assertThat(num(c, "window")).isEqualTo(4);
        assertThat(num(c, "standing_buffer")).isEqualTo(4);

        Run text = cli("status", q);
        assertThat(text.out()).contains("HEALTH").contains(q).contains("healthy");

        Run top = cli("top", q, "--json", "--iterations", "2", "--interval", "100ms");
        assertThat(top.code()).isZero();
        assertThat(top.out().trim().split("\n")).hasSize(2);

        Run explain = cli("explain", q, "--json");
        assertThat(explain.code()).as(explain.out()).isZero();
        assertThat(explain.json().map.get("findings").array).isEmpty();
      }
    }
  }

  @Test
  void queueWithMessagesAndNoWorkers() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice.using(nc).provision(QueueSpec.of(q));
      rawPublish(nc, q, 3);

      Run r = cli("status", q, "--json");
      assertThat(r.code()).isEqualTo(ExitCodes.FINDING);
      JsonValue s = r.queue();
      assertThat(str(s, "health")).isEqualTo("no-workers");
      assertThat(num(s, "backlog")).isEqualTo(3);
      assertThat(num(s, "live_workers")).isZero();
      assertThat(num(s, "window")).isZero();
      assertThat(num(s, "oldest_age_ms")).isGreaterThanOrEqualTo(0);

      Run peek = cli("peek", q, "--count", "2", "--json");
      assertThat(peek.code()).as(peek.err()).isZero();
      List<JsonValue> msgs = peek.json().map.get("messages").array;
      assertThat(msgs).hasSize(2);
      assertThat(str(msgs.get(0), "type")).isEqualTo("test.Job");
      assertThat(num(msgs.get(0), "type_version")).isEqualTo(1);
      assertThat(num(msgs.get(0), "protocol")).isEqualTo(1);
      assertThat(str(msgs.get(0), "payload")).isEqualTo("raw-0");
      assertThat(str(msgs.get(0), "msg_id")).isNotBlank();
      // Peeking consumed nothing.
      assertThat(num(cli("status", q, "--json").queue(), "backlog")).isEqualTo(3);

      Run explain = cli("explain", q, "--json");
      assertThat(explain.code()).isEqualTo(ExitCodes.FINDING);
      assertThat(codes(explain)).contains("no-workers");
    }
  }

  /**
   * A worker whose dead-letter records cannot be written (the stream was deleted under it) keeps
   * the message queued and reports FAILING; explain names the missing stream and how to restore it,
   * and once it is back the record is written and the worker recovers by itself.
   */
  @Test
  void explainNamesAMissingDeadLetterStream() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      QueueSpec spec = QueueSpec.of(q);
      sluice.provision(spec);
      try (Worker w =
              sluice
                  .worker(q)
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        throw new IllegalStateException("always fails");
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        nc.jetStreamManagement().deleteStream("SLUICE_DLQ");
        p.send(OutgoingMessage.of(JOB, "poison"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> w.health().state() == dev.sluice.Health.State.FAILING);
        assertThat(w.health().detail()).contains("dead-letter records cannot be written");

        Run explain = cli("explain", q, "--json");
        assertThat(explain.code()).isEqualTo(ExitCodes.FINDING);
        assertThat(codes(explain)).contains("dlq-missing");
        assertThat(cli("explain", q).out()).contains("[dlq-missing]").contains("sluice apply");
        assertThat(str(cli("status", q, "--json").queue(), "health")).isEqualTo("degraded");

        sluice.provision(spec);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () ->
                    w.health().state() == dev.sluice.Health.State.RUNNING
                        && w.deadLetteredCount() == 1);
        assertThat(codes(cli("explain", q, "--json")))
            .doesNotContain("dlq-missing")
            .contains("dead-letters");
      }
    }
  }

  @Test
  void creditsExhaustedWhileTheHandlerHangs() throws Exception {
    String q = NATS.uniqueName("q");
    CountDownLatch release = new CountDownLatch(1);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(2).tokenBatch(1).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .concurrency(1)
                  .prefetch(1)
                  .shutdownGrace(Duration.ofMillis(200))
                  .handle(JOB, (s, ctx) -> release.await(60, TimeUnit.SECONDS))
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(60)).build()) {
        for (int i = 0; i < 5; i++) {
          p.sendAsync(OutgoingMessage.of(JOB, "job-" + i));
        }
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> {
                  JsonValue s = cli("status", q, "--json", "--stuck-after", "1s").queue();
                  assertThat(num(s, "backlog")).isEqualTo(2);
                  assertThat(num(s, "window")).isEqualTo(2);
                  assertThat(num(s, "credits_available")).isZero();
                  assertThat(num(s, "producers_waiting")).isEqualTo(3);
                  assertThat(str(s, "health")).isEqualTo("stuck");
                });
        Run explain = cli("explain", q, "--json", "--stuck-after", "1s");
        assertThat(explain.code()).isEqualTo(ExitCodes.FINDING);
        assertThat(codes(explain)).contains("no-credits");
        release.countDown();
      } finally {
        release.countDown();
      }
    }
  }

  @Test
  void poisonMessageCycling() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .deadLetter(
                      DeadLetterPolicy.builder().maxAttempts(1000).maxDeliveries(2000).build())
                  .backoff(Backoff.fixed(Duration.ofMillis(100)))
                  .circuitBreaker(CircuitBreakerPolicy.disabled())
                  .shutdownGrace(Duration.ofMillis(200))
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        throw new IllegalStateException("always fails");
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        p.send(OutgoingMessage.of(JOB, "poison"));
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> {
                  Run r = cli("status", q, "--json");
                  JsonValue s = r.queue();
                  assertThat(num(s, "redeliveries")).isGreaterThanOrEqualTo(1);
                  assertThat(num(s, "backlog")).isEqualTo(1);
                  assertThat(str(s, "health")).isEqualTo("degraded");
                  assertThat(r.code()).isEqualTo(ExitCodes.FINDING);
                });
        Run explain = cli("explain", q, "--json");
        assertThat(explain.code()).isEqualTo(ExitCodes.FINDING);
        assertThat(codes(explain)).contains("poison");
        assertThat(cli("explain", q).out()).contains("[poison]").contains("what to do");
      }
    }
  }
}
