package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.Backoff;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.SluiceHeaders;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/** The CLI run in-process against a real nats-server, with real queues in each state. */
class SluiceCliTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  /** One CLI run: exit code, stdout, stderr. */
  record Run(int code, String out, String err) {
    JsonValue json() {
      try {
        return JsonParser.parse(out.trim());
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + out + " / stderr: " + err, e);
      }
    }

    /** The first (only) queue of a status document. */
    JsonValue queue() {
      return json().map.get("queues").array.get(0);
    }
  }

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  static Run cliAt(String url, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = SluiceCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> full = new ArrayList<>(List.of("--server", url));
    full.addAll(List.of(args));
    int code = cl.execute(full.toArray(new String[0]));
    return new Run(code, out.toString(), err.toString());
  }

  static long num(JsonValue v, String key) {
    JsonValue x = v.map.get(key);
    assertThat(x).as(key).isNotNull();
    assertThat(x.number).as(key + " in " + v.toJson()).isNotNull();
    return x.number.longValue();
  }

  static String str(JsonValue v, String key) {
    JsonValue x = v.map.get(key);
    return x == null ? null : x.string;
  }

  static void rawPublish(Connection nc, String q, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      Headers h = new Headers();
      h.put(SluiceHeaders.MSG_ID, UUID.randomUUID().toString());
      h.put(SluiceHeaders.PROTOCOL, "1");
      h.put(SluiceHeaders.TYPE, "test.Job");
      h.put(SluiceHeaders.TYPE_VERSION, "1");
      nc.jetStream()
          .publish(
              NatsMessage.builder()
                  .subject("sluice.q." + q)
                  .headers(h)
                  .data(("raw-" + i).getBytes(StandardCharsets.UTF_8))
                  .build());
    }
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

  @Test
  void applyThenDryRunReportsNoChanges() {
    Run apply = cli("apply", "../../jetstream-config", "--json");
    assertThat(apply.code()).as(apply.err()).isZero();
    assertThat(apply.json().map.get("changes").array).isNotEmpty();
    Run dry = cli("apply", "../../jetstream-config", "--dry-run", "--json");
    assertThat(dry.code()).as(dry.err()).isZero();
    assertThat(dry.json().map.get("changed").bool).isFalse();
    assertThat(
            dry.json().map.get("changes").array.stream()
                .map(c -> str(c, "action"))
                .collect(Collectors.toSet()))
        .containsExactly("unchanged");
    Run text = cli("apply", "../../jetstream-config", "--dry-run");
    assertThat(text.out()).contains("unchanged").contains("SLUICE_DLQ");

    Run missing = cli("apply", "no/such/dir");
    assertThat(missing.code()).isEqualTo(ExitCodes.NOT_FOUND);
  }

  @Test
  void badInputGivesOneLineAndAnExitCode() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run down = cliAt("nats://127.0.0.1:" + port, "status");
    assertThat(down.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(down.out()).isEmpty();
    assertThat(down.err().trim().lines().count()).isEqualTo(1);
    assertThat(down.err()).contains("cannot connect").doesNotContain("Exception");

    Run unknown = cli("status", "no-such-queue");
    assertThat(unknown.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(unknown.err().trim().lines().count()).isEqualTo(1);
    assertThat(unknown.err()).contains("no-such-queue").contains("not found");

    Run badName = cli("status", "bad.name");
    assertThat(badName.code()).isEqualTo(ExitCodes.USAGE);

    Run badOption = cli("status", "--frobnicate");
    assertThat(badOption.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(badOption.err().trim().lines().count()).isEqualTo(1);

    Run noSelection = cli("dlq", "replay", "x");
    assertThat(noSelection.code()).isEqualTo(ExitCodes.USAGE);

    Run verbose = cliAt("nats://127.0.0.1:" + port, "status", "--verbose");
    assertThat(verbose.err()).contains("at ");
  }

  @Test
  void withJsonEveryErrorIsAJsonObjectOnStdout() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // A script that reads --json output would otherwise get nothing on stdout and have to scrape
    // stderr for the reason: each error class below must come back as {"error", "exit_code"}.
    Run down = cliAt("nats://127.0.0.1:" + port, "status", "--json");
    Run unknown = cli("status", "no-such-queue", "--json");
    Run badOption = cli("status", "--frobnicate", "--json");
    Run refused = cli("dlq", "purge", "no-such-queue", "--json");
    for (Run r : List.of(down, unknown, badOption, refused)) {
      assertThat(r.code()).as(r.out() + r.err()).isNotZero();
      assertThat(num(r.json(), "exit_code")).isEqualTo(r.code());
      assertThat(str(r.json(), "exit_meaning")).isEqualTo(ExitCodes.meaning(r.code()));
      assertThat(str(r.json(), "error")).isNotBlank();
      assertThat(r.err()).isEmpty();
    }
    assertThat(down.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(str(down.json(), "error")).contains("cannot connect");
    assertThat(unknown.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(str(unknown.json(), "error")).contains("no-such-queue").contains("not found");
    assertThat(badOption.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(str(badOption.json(), "error")).contains("--frobnicate").contains("--help");
  }

  static List<String> codes(Run explain) {
    return explain.json().map.get("findings").array.stream().map(f -> str(f, "code")).toList();
  }
}
