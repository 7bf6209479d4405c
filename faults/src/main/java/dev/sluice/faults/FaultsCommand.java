package dev.sluice.faults;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The fault suite behind {@code scripts/faults}: runs each scenario against its own real
 * nats-server processes on loopback, prints a live progress line on stderr and, last on stdout, the
 * report (a table, or with {@code --json} one line {@code {"scenarios": [...], "passed": N,
 * "failed": M}}). Exit status 0 when every scenario run passed, 1 when one failed, 2 when the run
 * could not start (bad arguments, no such scenario). See docs/FAULTS.md.
 */
@Command(
    name = "faults",
    mixinStandardHelpOptions = true,
    description = "Runs Sluice's fault scenarios against real nats-server processes.")
public final class FaultsCommand implements Callable<Integer> {
  /** The suite, in running order. */
  static final List<Scenario> SCENARIOS =
      List.of(
          new ProducerKill(),
          new WorkerKill(),
          new ConnectionCut(),
          new SlowHandler(),
          new HostilePublisher(),
          new ForgedCredits(),
          new PermissionRevoked(),
          new Reprovision(),
          new ServerKill(),
          new ClusterFault(ClusterFault.Kind.STREAM_LEADER_KILL),
          new ClusterFault(ClusterFault.Kind.META_LEADER_KILL),
          new ClusterFault(ClusterFault.Kind.LEADER_PAUSE),
          new ClusterFault(ClusterFault.Kind.ALL_RESTART),
          new ClusterFault(ClusterFault.Kind.PARTITION));

  @Option(names = "--json", description = "Print the report as one JSON line (errors too).")
  boolean json;

  @Option(
      names = "--only",
      paramLabel = "NAME",
      description = "Run only the scenario with this name (see --list).")
  String only;

  @Option(names = "--quick", description = "Run only the quick subset (about 2 minutes).")
  boolean quick;

  @Option(names = "--list", description = "List the scenarios and what each proves, then exit.")
  boolean list;

  @Option(
      names = "--work-dir",
      paramLabel = "DIR",
      description =
          "Server stores, child logs and effect logs (default: a new temporary directory).")
  Path workDir;

  @Option(
      names = "--pid-file",
      paramLabel = "FILE",
      description = "Append the pid of every process started, for the wrapper's cleanup.")
  Path pidFile;

  /** Runs the suite and exits with its status. */
  public static void main(String[] args) {
    // The server runner copies nats-server's output through java.util.logging to stderr, where only
    // the progress line belongs: no console handler. Server logs are in each store's directory.
    java.util.logging.LogManager.getLogManager().reset();
    System.exit(new CommandLine(new FaultsCommand()).execute(args));
  }

  /** Runs the selected scenarios; returns the exit status. */
  @Override
  public Integer call() {
    List<Scenario> selected =
        SCENARIOS.stream()
            .filter(s -> only == null || s.name().equals(only))
            .filter(s -> !quick || s.quick())
            .toList();
    if (list) {
      SCENARIOS.forEach(
          s ->
              System.out.printf("%-20s %s%s%n", s.name(), s.quick() ? "[quick] " : "", s.proves()));
      return 0;
    }
    if (selected.isEmpty()) {
      return error(
          "no scenario named '" + only + "'" + (quick ? " in the quick subset" : ""),
          "run scripts/faults --list for the names");
    }
    Path root;
    try {
      root =
          workDir != null
              ? Files.createDirectories(workDir)
              : Files.createTempDirectory("sluice-faults-");
    } catch (IOException e) {
      return error("cannot create the work directory: " + e.getMessage(), "pass --work-dir DIR");
    }
    System.setProperty("sluice.faults.log", root.resolve("runner.log").toString());
    Progress progress = new Progress(System.err, System.console() != null);
    SuiteReport report = new SuiteReport();
    int i = 0;
    for (Scenario s : selected) {
      progress.scenario(s.name(), ++i, selected.size());
      ScenarioResult r = runOne(s, root, progress);
      report.add(r);
      progress.done(r);
    }
    if (!json) {
      System.out.println("work directory (logs, stores): " + root);
    }
    report.print(json, System.out);
    return report.exitCode();
  }

  private ScenarioResult runOne(Scenario s, Path root, Progress progress) {
    Path dir = root.resolve(s.name());
    try {
      // A store left by an earlier run would replay its messages and dead letters into this one.
      deleteTree(dir);
      Files.createDirectories(dir);
    } catch (IOException e) {
      return ScenarioResult.aborted(s.name(), new Ledger(), "no work directory: " + e);
    }
    try (Lab lab = new Lab(dir, progress, pidFile)) {
      return s.run(lab);
    } catch (Exception | AssertionError e) {
      Thread.interrupted();
      return ScenarioResult.aborted(s.name(), new Ledger(), String.valueOf(e));
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private int error(String message, String next) {
    if (json) {
      Map<String, String> e = new LinkedHashMap<>();
      e.put("error", message);
      e.put("next", next);
      try {
        System.out.println(new ObjectMapper().writeValueAsString(e));
      } catch (IOException x) {
        System.out.println("{\"error\": \"" + message.replace("\"", "'") + "\"}");
      }
    } else {
      System.err.println("faults: " + message + "; " + next);
    }
    return 2;
  }
}
