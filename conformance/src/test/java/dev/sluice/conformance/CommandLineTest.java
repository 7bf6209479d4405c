package dev.sluice.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The runner's flags are called by scripts/conformance and the Java peer's by the runner through
 * the peers/README.md contract: flag names, defaults and the exit status of a bad command line must
 * not drift.
 */
class CommandLineTest {
  private final PrintStream realOut = System.out;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  @BeforeEach
  void captureStdout() {
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restoreStdout() {
    System.setOut(realOut);
  }

  private static CommandLine quiet(CommandLine cl) {
    cl.setErr(new PrintWriter(new StringWriter()));
    cl.setOut(new PrintWriter(new StringWriter()));
    return cl;
  }

  @Test
  void runnerTakesTheFlagsScriptsConformancePasses() {
    Runner r = new Runner();
    new CommandLine(r)
        .parseArgs(
            "--nats-server",
            "/bin/nats-server",
            "--go",
            "/go",
            "--rust",
            "/rust",
            "--logs",
            "/tmp/l",
            "--pid-file",
            "/tmp/p",
            "--json",
            "--only",
            "poison");

    // A flag read into the wrong field would run the wrong peers or lose the pid file.
    assertThat(r.natsServer).isEqualTo("/bin/nats-server");
    assertThat(r.goBin).isEqualTo("/go");
    assertThat(r.rustBin).isEqualTo("/rust");
    assertThat(r.logs).isEqualTo(Path.of("/tmp/l"));
    assertThat(r.pidFile).isEqualTo(Path.of("/tmp/p"));
    assertThat(r.json).isTrue();
    assertThat(r.only).isEqualTo("poison");
  }

  @Test
  void runnerExitsTwoWhenItCannotStart() {
    // scripts/conformance documents 2 as "could not start"; 1 would read as a failed check.
    assertThat(quiet(new CommandLine(new Runner())).execute("--go", "/go", "--rust", "/rust"))
        .isEqualTo(2);
    assertThat(
            quiet(new CommandLine(new Runner()))
                .execute("--nats-server", "n", "--go", "g", "--rust", "r", "--bogus"))
        .isEqualTo(2);
  }

  @Test
  void javaWorkerDefaultsAreTheContractDefaults() {
    CommandLine cl = JavaPeer.commandLine();
    CommandLine.ParseResult pr =
        cl.parseArgs("worker", "--server", "nats://x:1", "--queue", "q", "--worker-id", "w1");
    JavaWorker w = (JavaWorker) pr.subcommand().commandSpec().userObject();

    // peers/README.md fixes these defaults for every peer; a different one changes the fleet.
    assertThat(w.server).isEqualTo("nats://x:1");
    assertThat(w.queue).isEqualTo("q");
    assertThat(w.id).isEqualTo("w1");
    assertThat(w.concurrency).isEqualTo(4);
    assertThat(w.prefetch).isEqualTo(4);
    assertThat(w.workMs).isZero();
    assertThat(w.handles).isEqualTo("sluice.conformance.Work@1-1");
    assertThat(w.maxAttempts).isEqualTo(3);
    assertThat(w.backoffMs).isEqualTo(100);
    assertThat(w.graceMs).isEqualTo(3000);
    assertThat(w.graceDelayMs).isEqualTo(500);
    assertThat(w.tokenBatch).isEqualTo(8);
    assertThat(w.capacity).isNull();
  }

  @Test
  void javaWorkerAcceptsTheReconcilerFlagOfTheContract() {
    // The single-language fleets pass --reconciler to every worker; the Java peer always runs one.
    CommandLine.ParseResult pr =
        JavaPeer.commandLine()
            .parseArgs(
                "worker",
                "--server",
                "nats://x:1",
                "--queue",
                "q",
                "--worker-id",
                "w1",
                "--reconciler");
    JavaWorker w = (JavaWorker) pr.subcommand().commandSpec().userObject();

    assertThat(w.reconciler).isTrue();
  }

  @Test
  void javaProducerDefaultsAreTheContractDefaultsAndTakeKeyEqualsValue() {
    CommandLine.ParseResult pr =
        JavaPeer.commandLine()
            .parseArgs(
                "produce",
                "--server=nats://x:1",
                "--queue",
                "q",
                "--producer-id",
                "p",
                "--count",
                "5");
    JavaProducer p = (JavaProducer) pr.subcommand().commandSpec().userObject();

    assertThat(p.count).isEqualTo(5);
    assertThat(p.server).isEqualTo("nats://x:1");
    assertThat(p.type).isEqualTo("sluice.conformance.Work");
    assertThat(p.version).isEqualTo(1);
    assertThat(p.start).isZero();
    assertThat(p.behavior).isEqualTo("ok");
    assertThat(p.acquireMs).isEqualTo(30_000);
  }

  @Test
  void javaScheduleDefaultsAreTheContractDefaults() {
    CommandLine.ParseResult pr =
        JavaPeer.commandLine()
            .parseArgs(
                "schedule",
                "--server",
                "nats://x:1",
                "--queue",
                "q",
                "--producer-id",
                "p",
                "--count",
                "3");
    JavaSchedule s = (JavaSchedule) pr.subcommand().commandSpec().userObject();

    // The schedule role of peers/README.md; --fire is the Java peer's own and off by default.
    assertThat(s.count).isEqualTo(3);
    assertThat(s.delayMs).isEqualTo(1_000);
    assertThat(s.type).isEqualTo("sluice.conformance.Work");
    assertThat(s.version).isEqualTo(1);
    assertThat(s.start).isZero();
    assertThat(s.fire).isFalse();
  }

  @Test
  void javaPeerBadCommandLinePrintsAnErrorEventAndExitsTwo() {
    int code =
        quiet(JavaPeer.commandLine())
            .execute("produce", "--server", "nats://x:1", "--queue", "q", "--producer-id", "p");

    // The runner reads stdout as events: a usage error must be an error event, not free text.
    String line = out.toString(StandardCharsets.UTF_8).strip();
    assertThat(code).isEqualTo(2);
    assertThat(JsonLines.parseObject(line).get("event").asText()).isEqualTo("error");
    assertThat(line).contains("--count");
  }

  @Test
  void javaPeerWithoutARoleExitsTwo() {
    // No role is a usage error like any other, with an error event.
    assertThat(quiet(JavaPeer.commandLine()).execute()).isEqualTo(2);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"event\":\"error\"");
  }
}
