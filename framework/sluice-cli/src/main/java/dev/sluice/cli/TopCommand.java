package dev.sluice.cli;

import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "top",
    description =
        "Refresh the status view until interrupted (with --json: one JSON document per line).")
final class TopCommand extends BaseCommand {
  @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
  String queue;

  @Option(
      names = {"-i", "--interval"},
      defaultValue = "2s",
      converter = SluiceCli.DurationConverter.class,
      description = "Refresh interval (default ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(
      names = {"-n", "--iterations"},
      defaultValue = "0",
      description = "Stop after N refreshes (default 0: run until interrupted).")
  int iterations;

  @Option(
      names = "--stuck-after",
      defaultValue = "30s",
      converter = SluiceCli.DurationConverter.class,
      description = "As for status (default ${DEFAULT-VALUE}).")
  Duration stuckAfter;

  /** The shortest refresh interval: shorter ones only load the server. */
  static final Duration MIN_INTERVAL = Duration.ofMillis(100);

  @Override
  int run(Connect.Session s) throws Exception {
    if (iterations < 0) {
      throw CliException.usage("--iterations must be >= 0");
    }
    if (interval.compareTo(MIN_INTERVAL) < 0) {
      throw CliException.usage(
          "--interval "
              + interval.toMillis()
              + "ms is too short: use at least "
              + MIN_INTERVAL.toMillis()
              + "ms (each refresh reads every queue from the server)");
    }
    Terminal term = root().terminal();
    boolean ansi = !json() && term.interactive();
    for (int i = 0; iterations == 0 || i < iterations; i++) {
      if (i > 0) {
        Thread.sleep(interval.toMillis());
      }
      List<QueueState> states = StatusCommand.read(s, queue);
      if (ansi) {
        out().print("\033[H\033[2J");
      }
      if (!json()) {
        String title =
            "sluice top  "
                + s.url()
                + "  "
                + java.time.LocalTime.now().withNano(0)
                + "  (every "
                + Table.age(interval.toMillis())
                + ", Ctrl-C to quit)";
        int width = term.width();
        out().println(width > 0 && title.length() > width ? title.substring(0, width) : title);
      }
      StatusCommand.render(states, stuckAfter.toMillis(), json(), s, this, term, true);
      if (!json() && !ansi) {
        out().println();
      }
      out().flush();
    }
    return ExitCodes.OK;
  }
}
