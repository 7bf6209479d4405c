package dev.sluice.cli;

import dev.sluice.cli.console.ConsoleServer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "ui",
    description = {
      "Serve the web console: queues, credit flow, workers and dead letters, live (docs/CONSOLE.md).",
      "Read-only and on 127.0.0.1 unless told otherwise. Runs until interrupted."
    })
final class UiCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = {"-p", "--port"},
      defaultValue = "8740",
      paramLabel = "N",
      description = "HTTP port (default ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(
      names = "--bind",
      defaultValue = "127.0.0.1",
      paramLabel = "ADDR",
      description =
          "Address to listen on (default ${DEFAULT-VALUE}: this machine only). Anyone who can"
              + " reach it sees what the NATS user sees.")
  String bind;

  @Option(
      names = "--allow-writes",
      description = "Allow replaying and purging dead letters from the browser.")
  boolean allowWrites;

  @Option(
      names = "--sample-interval",
      paramLabel = "D",
      defaultValue = "1500ms",
      converter = SluiceCli.DurationConverter.class,
      description = "How often the console reads every queue (default ${DEFAULT-VALUE}).")
  Duration sampleInterval;

  @Option(
      names = "--history",
      paramLabel = "D",
      defaultValue = "10m",
      converter = SluiceCli.DurationConverter.class,
      description = "How much sampled history to keep for the charts (default ${DEFAULT-VALUE}).")
  Duration history;

  @Option(
      names = "--stuck-after",
      paramLabel = "D",
      defaultValue = "30s",
      converter = SluiceCli.DurationConverter.class,
      description = "As for status (default ${DEFAULT-VALUE}).")
  Duration stuckAfter;

  @Override
  public Integer call() throws Exception {
    ConsoleServer console = start();
    spec.commandLine()
        .getErr()
        .println(
            "sluice ui: serving "
                + console.url()
                + (allowWrites ? " (writes allowed)" : " (read-only)")
                + " for "
                + root().server
                + "; Ctrl-C to stop");
    spec.commandLine().getErr().flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  console.close();
                  stopped.countDown();
                },
                "sluice-console-stop"));
    stopped.await();
    return ExitCodes.OK;
  }

  private SluiceCli root() {
    return (SluiceCli) spec.root().userObject();
  }

  /** Connects and starts the console; the caller closes it. */
  ConsoleServer start() throws Exception {
    if (port < 0 || port > 65535) {
      throw CliException.usage("--port " + port + " is not a TCP port (0-65535)");
    }
    if (sampleInterval.toMillis() < 100) {
      throw CliException.usage("--sample-interval must be at least 100ms");
    }
    InetAddress address;
    try {
      address = InetAddress.getByName(bind);
    } catch (UnknownHostException e) {
      throw CliException.usage("--bind " + bind + ": unknown address");
    }
    int samples =
        (int) Math.max(1, Math.min(100_000, history.toMillis() / sampleInterval.toMillis()));
    Connect.Session s = root().connect().open(true);
    try {
      return ConsoleServer.start(
          new ConsoleDocuments(s, stuckAfter, 200),
          new ConsoleServer.Settings(address, port, allowWrites, sampleInterval, samples),
          s);
    } catch (java.net.BindException e) {
      s.close();
      throw CliException.usage(
          "cannot listen on "
              + bind
              + ":"
              + port
              + " ("
              + e.getMessage()
              + "): pick another --port");
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }
}
