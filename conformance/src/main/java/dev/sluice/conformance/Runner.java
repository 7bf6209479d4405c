package dev.sluice.conformance;

import io.nats.client.Connection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The mixed-fleet conformance runner behind {@code scripts/conformance}: starts a real nats-server
 * on a free loopback port, provisions queues with the Java library, runs Java, Go and Rust peers as
 * separate processes through the {@code peers/README.md} contract, and checks what they did
 * (docs/CONFORMANCE.md).
 *
 * <p>Every check is attributed to the languages it exercises; with {@code --json} the last stdout
 * line is {@code {"peers":{"java":{"passed":N,"failed":M},"go":{...},"rust":{...}}}}. Exit status:
 * 0 when every check passed, 1 when one failed, 2 when the run could not start (bad arguments, no
 * log directory).
 */
@Command(
    name = "Runner",
    mixinStandardHelpOptions = true,
    description = "Runs the mixed-fleet conformance scenarios against Java, Go and Rust peers.")
public final class Runner implements Callable<Integer> {
  /** The suite, in running order. */
  static final List<Scenario> SCENARIOS =
      List.of(
          new MixedWorkers(),
          new ForeignProducers(),
          new Contention(),
          new PoisonAndDeadLetters(),
          new PayloadVersions(),
          new UnwritableDeadLetters(),
          new ForeignSchedules(),
          new JavaSchedulesForeignWorkers(),
          new Fairness(),
          new RateLimits(),
          new Pushback(),
          new CircuitProbe(),
          new SingleLanguageFleet("go"),
          new SingleLanguageFleet("rust"),
          new SingleLanguageFleet("java"));

  @Option(names = "--json", description = "One JSON line per check, then the summary line.")
  boolean json;

  @Option(names = "--nats-server", required = true, paramLabel = "PATH")
  String natsServer;

  @Option(names = "--go", required = true, paramLabel = "PATH", description = "The Go peer.")
  String goBin;

  @Option(names = "--rust", required = true, paramLabel = "PATH", description = "The Rust peer.")
  String rustBin;

  @Option(
      names = "--logs",
      paramLabel = "DIR",
      description = "Peer logs and events (default: a new temporary directory).")
  Path logs;

  @Option(
      names = "--pid-file",
      paramLabel = "FILE",
      description = "Append the pid of every process started here.")
  Path pidFile;

  @Option(
      names = "--only",
      paramLabel = "NAME",
      description = "Run only the scenarios whose name contains NAME.")
  String only;

  private volatile Launcher launcher;
  private volatile NatsServer server;
  private volatile Connection nc;

  /**
   * Runs the suite and exits with its status. Thread-safe only in the sense that it owns the
   * process: it installs a shutdown hook that kills whatever it started.
   */
  public static void main(String[] args) {
    System.exit(new CommandLine(new Runner()).execute(args));
  }

  /** Runs the selected scenarios and prints the report; returns the exit status. */
  @Override
  public Integer call() {
    Path logDir;
    try {
      logDir =
          logs != null
              ? Files.createDirectories(logs)
              : Files.createTempDirectory("sluice-conformance-logs-");
    } catch (IOException e) {
      Report.progress("no log directory: " + e);
      return 2;
    }
    launcher = new Launcher(goBin, rustBin, logDir, pidFile);
    Runtime.getRuntime().addShutdownHook(new Thread(this::cleanup, "conformance-cleanup"));
    Report report = new Report();
    try {
      long t0 = System.nanoTime();
      server = NatsServer.start(natsServer, logDir, pidFile);
      nc = JavaPeer.connect(server.url(), "conformance-runner");
      Harness h = new Harness(server.url(), nc, launcher, report);
      Report.progress("nats-server " + server.url() + "; peer logs in " + logDir);
      for (Scenario s : SCENARIOS) {
        if (only == null || s.name().contains(only)) {
          timed(s, h);
        }
      }
      Report.progress(String.format("all scenarios in %.1f s", (System.nanoTime() - t0) / 1e9));
    } catch (Exception e) {
      Report.progress("run aborted: " + e);
      e.printStackTrace();
      report.check("setup", "the run completed", Report.LANGS, false, e.toString());
    }
    int code = report.print(json, logDir, System.out, System.err);
    cleanup();
    return code;
  }

  private void timed(Scenario s, Harness h) {
    long t = System.nanoTime();
    Report.progress("scenario " + s.name());
    try {
      s.run(h);
    } catch (Exception e) {
      Report.progress("scenario " + s.name() + " aborted: " + e);
      e.printStackTrace();
      h.check(s.name(), "scenario completed", Report.LANGS, false, e.toString());
    } finally {
      launcher.stopAll();
    }
    h.report.scenarioTime(s.name(), System.nanoTime() - t);
  }

  /** Kills every peer still running, closes the connection, stops the server. Idempotent. */
  private synchronized void cleanup() {
    if (launcher != null) {
      launcher.killAll();
    }
    if (nc != null) {
      try {
        nc.close();
      } catch (Exception e) {
        // closing anyway
      }
      nc = null;
    }
    if (server != null) {
      server.close();
    }
  }
}
