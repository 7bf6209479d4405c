package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.JOB;
import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code dlq list, show, purge, replay} run in-process against a real nats-server. */
class CliDeadLettersTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void deadLettersListShowAndPurge() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        throw new IllegalStateException("boom " + s);
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        for (int i = 0; i < 3; i++) {
          p.send(OutgoingMessage.of(JOB, "bad-" + i));
        }
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> {
                  JsonValue s = cli("status", q, "--json").queue();
                  assertThat(num(s, "dead_letters")).isEqualTo(3);
                  assertThat(num(s, "backlog")).isZero();
                  assertThat(str(s, "health")).isEqualTo("degraded");
                });
      }
      Run list = cli("dlq", "list", q, "--json");
      assertThat(list.code()).as(list.err()).isZero();
      List<JsonValue> recs = list.json().map.get("dead_letters").array;
      assertThat(recs).hasSize(3);
      for (JsonValue r : recs) {
        assertThat(str(r, "queue")).isEqualTo(q);
        assertThat(str(r, "reason")).isEqualTo("max-attempts");
        assertThat(str(r, "error")).contains("boom");
        assertThat(num(r, "attempts")).isEqualTo(1);
        assertThat(str(r, "type")).isEqualTo("test.Job");
        assertThat(num(r, "type_version")).isEqualTo(1);
        assertThat(str(r, "original_msg_id")).isNotBlank();
      }
      assertThat(
              cli("dlq", "list", q, "--reason", "rejected", "--json")
                  .json()
                  .map
                  .get("dead_letters")
                  .array)
          .isEmpty();

      long seq = num(recs.get(0), "dlq_seq");
      Run show = cli("dlq", "show", q, "--seq", Long.toString(seq), "--json");
      assertThat(show.code()).isZero();
      assertThat(str(show.json(), "payload")).startsWith("bad-");
      assertThat(show.json().map.get("headers").map).containsKey("Sluice-Dlq-Reason");

      Run missing = cli("dlq", "show", q, "--seq", "999999");
      assertThat(missing.code()).isEqualTo(ExitCodes.NOT_FOUND);

      Run refused = cli("dlq", "purge", q);
      assertThat(refused.code()).isEqualTo(ExitCodes.USAGE);
      assertThat(refused.err()).contains("--yes");
      assertThat(num(cli("status", q, "--json").queue(), "dead_letters")).isEqualTo(3);

      Run purge = cli("dlq", "purge", q, "--yes", "--json");
      assertThat(purge.code()).isZero();
      assertThat(num(purge.json(), "purged")).isEqualTo(3);
      assertThat(num(cli("status", q, "--json").queue(), "dead_letters")).isZero();
    }
  }

  @Test
  void replayReturnsDeadLettersToTheQueueAndAWorkerProcessesThem() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      Set<String> failedOnce = ConcurrentHashMap.newKeySet();
      Set<String> done = ConcurrentHashMap.newKeySet();
      Set<String> replayOf = ConcurrentHashMap.newKeySet();
      try (Worker w =
              sluice
                  .worker(q)
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        if (failedOnce.add(s)) {
                          throw new IllegalStateException("first time fails: " + s);
                        }
                        replayOf.addAll(ctx.header("Sluice-Replay-Of"));
                        done.add(s);
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          ids.add(p.send(OutgoingMessage.of(JOB, "job-" + i)).messageId());
        }
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> num(cli("status", q, "--json").queue(), "dead_letters") == 3);
        assertThat(done).isEmpty();

        Run bad = cli("dlq", "replay", q, "--reason", "no-such-reason");
        assertThat(bad.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.err().trim().lines().count()).isEqualTo(1);

        Run replay = cli("dlq", "replay", q, "--all", "--json");
        assertThat(replay.code()).as(replay.err()).isZero();
        assertThat(num(replay.json(), "replayed")).isEqualTo(3);
        for (JsonValue r : replay.json().map.get("records").array) {
          assertThat(str(r, "replay_msg_id")).isEqualTo("replay." + num(r, "dlq_seq"));
        }

        await().atMost(Duration.ofSeconds(20)).until(() -> done.size() == 3);
        assertThat(replayOf).containsExactlyInAnyOrderElementsOf(ids);
        JsonValue s = cli("status", q, "--json").queue();
        assertThat(num(s, "dead_letters")).isZero();
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> num(cli("status", q, "--json").queue(), "backlog") == 0);
      }
    }
  }
}
