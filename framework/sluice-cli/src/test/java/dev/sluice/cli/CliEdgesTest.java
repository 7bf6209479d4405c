package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.JOB;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import dev.sluice.testkit.ServerBinary;
import io.nats.NatsServerRunner;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/** The CLI's edges as a first-time user meets them, against a real nats-server. */
class CliEdgesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return CliHarness.cliAt(NATS.server().url(), args);
  }

  static Run cliOn(Terminal terminal, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = SluiceCli.commandLine(terminal);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> full = new ArrayList<>(List.of("--server", NATS.server().url()));
    full.addAll(List.of(args));
    return new Run(cl.execute(full.toArray(new String[0])), out.toString(), err.toString());
  }

  @Test
  void anHttpUrlIsAUsageErrorOnOneLine() {
    Run r = CliHarness.cliAt("http://127.0.0.1:" + NATS.server().port(), "status");
    assertThat(r.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err().trim().lines()).hasSize(1);
    assertThat(r.err()).contains("not a NATS URL").contains("nats://").doesNotContain("Exception");

    Run json = CliHarness.cliAt("http://127.0.0.1:1", "status", "--json");
    assertThat(json.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(str(json.json(), "exit_meaning")).isEqualTo("usage error");
  }

  @Test
  void aServerWithoutJetStreamIsNamedAsSuch() throws Exception {
    // The test kit's servers all have JetStream: this one is started bare.
    NatsServerRunner.Builder b =
        NatsServerRunner.builder().port(dev.sluice.testkit.NatsServer.freePort());
    b.executablePath(ServerBinary.resolve());
    try (NatsServerRunner bare = b.build()) {
      Run r = CliHarness.cliAt(bare.getURI(), "status");
      assertThat(r.code()).isEqualTo(ExitCodes.CONNECT);
      assertThat(r.err()).contains("JetStream is not enabled").contains("-js");
      assertThat(r.err()).doesNotContain("--timeout");
    }
  }

  @Test
  void purgingDeadLettersOfAnUnknownQueueIsNotFound() {
    Sluice.using(NATS.server().connect()).provision(QueueSpec.of(NATS.uniqueName("q")));
    Run r = cli("dlq", "purge", "nosuchqueue", "--yes");
    assertThat(r.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(r.err()).contains("nosuchqueue").contains("not found");
    assertThat(r.out()).doesNotContain("purged");
  }

  @Test
  void workersAllAfterAGracefulCloseSaysTheAdvertWasWithdrawn() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (Worker w = sluice.worker(q).handle(JOB, (s, ctx) -> {}).start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> cli("workers", q).out().contains(q));
      }
      Run all = cli("workers", q, "--all");
      assertThat(all.code()).isZero();
      assertThat(all.out()).contains("no worker adverts").contains("withdraws");
      assertThat(all.out()).doesNotContain("no live workers");
    }
  }

  @Test
  void headerNumbersAreNumbersInEveryCommand() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(2).build());
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        p.send(OutgoingMessage.of(JOB, "one"));
      }
      JsonValue msg = cli("peek", q, "--json").json().map.get("messages").array.get(0);
      assertThat(num(msg, "protocol")).isEqualTo(1);
      assertThat(num(msg, "type_version")).isEqualTo(1);
      assertThat(num(msg, "sent_at")).isPositive();
      try (Worker w = sluice.worker(q).handle(JOB, (s, ctx) -> {}).start()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  List<JsonValue> ws = cli("workers", q, "--json").json().map.get("workers").array;
                  assertThat(ws).hasSize(1);
                  assertThat(num(ws.get(0), "protocol_version")).isEqualTo(1);
                  JsonValue h = ws.get(0).map.get("handled").array.get(0);
                  assertThat(num(h, "min_version")).isEqualTo(1);
                });
      }
    }
  }

  @Test
  void versionIsTheBuildsVersion() {
    Run r = cli("--version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("sluice ").doesNotContain("sluice dev").contains("protocol");
    assertThat(SluiceCli.Version.version()).matches("\\d+\\.\\d+\\.\\d+.*");
  }

  @Test
  void topRejectsAZeroIntervalInsteadOfSpinning() {
    Run r = cli("top", "-i", "0s", "-n", "2");
    assertThat(r.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--interval").contains("100ms");
    assertThat(cli("top", "-i", "-1s").code()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void topFitsTheTerminalAndColoursHealthOnlyWhenAllowed() {
    String q = NATS.uniqueName("q");
    Sluice.using(NATS.server().connect()).provision(QueueSpec.of(q));
    Run coloured = cliOn(new Terminal(true, 60, true), "top", q, "-n", "1", "-i", "100ms");
    assertThat(coloured.code()).as(coloured.err()).isZero();
    List<String> lines =
        coloured.out().replace("\033[H\033[2J", "").replaceAll("\033\\[\\d+m", "").lines().toList();
    assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(60));
    // No live worker: the health word is red.
    assertThat(coloured.out()).contains("\033[31mno-workers" + Table.RESET);

    Run plain = cliOn(new Terminal(true, 0, false), "top", q, "-n", "1", "-i", "100ms");
    assertThat(plain.out()).contains("no-workers").doesNotContain("\033[31m");
    assertThat(plain.out().lines().anyMatch(l -> l.length() > 60)).isTrue();

    Run piped = cli("status", q);
    assertThat(piped.out()).doesNotContain("\033[");
  }

  @Test
  void aWorkerThatJustTookAnOldBacklogIsNotStuckButAHungOneBecomesStuck() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        for (int i = 0; i < 4; i++) {
          p.send(OutgoingMessage.of(JOB, "old-" + i));
        }
      }
      // The backlog grows older than --stuck-after before any worker exists.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> num(cli("status", q, "--json").queue(), "oldest_age_ms") > 2_000);
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch started = new CountDownLatch(1);
      try (Worker w =
          sluice
              .worker(q)
              .concurrency(4)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    started.countDown();
                    release.await();
                  })
              .start()) {
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        JsonValue fresh = cli("status", q, "--stuck-after", "2s", "--json").queue();
        assertThat(str(fresh, "health")).isNotEqualTo("stuck");
        assertThat(num(fresh, "last_delivery_ago_ms")).isLessThan(2_000);
        // Nothing finishes and nothing more is delivered: after --stuck-after it is stuck.
        await()
            .atMost(Duration.ofSeconds(15))
            .untilAsserted(
                () ->
                    assertThat(
                            str(
                                cli("status", q, "--stuck-after", "2s", "--json").queue(),
                                "health"))
                        .isEqualTo("stuck"));
        release.countDown();
      }
    }
  }
}
