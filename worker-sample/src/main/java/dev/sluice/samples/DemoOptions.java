package dev.sluice.samples;

import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The options of {@link Demo}; {@link #parse} reads them from the command line (picocli). */
public record DemoOptions(
    String server,
    int messages,
    int workers,
    double failRate,
    double poisonRate,
    double v1Share,
    long workMs,
    int concurrency,
    int prefetch,
    Path config,
    Duration drainTimeout,
    Progress progress,
    boolean json,
    long seed) {

  /**
   * Reads the options; throws {@link IllegalArgumentException} with the message and the usage for a
   * bad or missing option (and with the usage alone for {@code --help}).
   */
  public static DemoOptions parse(String... args) {
    Flags f = new Flags();
    CommandLine cl = new CommandLine(f).setCaseInsensitiveEnumValuesAllowed(true);
    try {
      cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(e.getMessage() + "\n" + cl.getUsageMessage(), e);
    }
    if (cl.isUsageHelpRequested()) {
      throw new IllegalArgumentException(cl.getUsageMessage());
    }
    if (f.messages < 1 || f.workers < 1 || f.failRate < 0 || f.failRate > 1) {
      throw new IllegalArgumentException("need messages >= 1, workers >= 1, 0 <= fail-rate <= 1");
    }
    return new DemoOptions(
        f.server,
        f.messages,
        f.workers,
        f.failRate,
        f.poisonRate != null ? f.poisonRate : f.failRate / 5,
        f.v1Share,
        f.workMs,
        f.concurrency,
        f.prefetch,
        f.config,
        Duration.ofSeconds(f.drainTimeoutSeconds),
        f.progress,
        f.json,
        f.seed != null ? f.seed : System.currentTimeMillis()); // fresh message ids every run
  }

  /** The command line of {@link Demo}, as picocli reads it. */
  @Command(name = "Demo", sortOptions = false)
  static final class Flags {
    @Option(names = "--server", required = true, paramLabel = "URL", description = "NATS URL.")
    String server;

    @Option(names = "--messages", defaultValue = "3000", description = "Orders to send.")
    int messages;

    @Option(names = "--workers", defaultValue = "3", description = "Workers (K).")
    int workers;

    @Option(names = "--fail-rate", defaultValue = "0.05", description = "Transient failures.")
    double failRate;

    @Option(names = "--poison-rate", description = "Poison orders (default fail-rate / 5).")
    Double poisonRate;

    @Option(names = "--v1-share", defaultValue = "0.2", description = "Share of v1 orders.")
    double v1Share;

    @Option(names = "--work-ms", defaultValue = "10", description = "Handler work per order.")
    long workMs;

    @Option(names = "--concurrency", defaultValue = "4", description = "Handlers per worker.")
    int concurrency;

    // capacity 4 + 28 = 32 = the token batch: see docs/DEMO.md
    @Option(names = "--prefetch", defaultValue = "28", description = "Prefetch per worker.")
    int prefetch;

    @Option(names = "--config", defaultValue = "jetstream-config", paramLabel = "DIR")
    Path config;

    @Option(names = "--drain-timeout", defaultValue = "60", paramLabel = "S")
    long drainTimeoutSeconds;

    @Option(names = "--progress", defaultValue = "LINES", description = "tty, lines or off.")
    Progress progress;

    @Option(names = "--json", description = "Print the summary as JSON too.")
    boolean json;

    @Option(names = "--seed", description = "Random seed (default: the time).")
    Long seed;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true)
    boolean help;
  }

  /** How the progress line is shown: rewritten in place, one line per second, or not at all. */
  public enum Progress {
    TTY,
    LINES,
    OFF
  }
}
