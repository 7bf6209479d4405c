package dev.sluice.bench;

import io.nats.client.Connection;
import java.util.Locale;
import java.util.UUID;

/**
 * The benchmarks behind {@code scripts/bench}: the same producer and handler on raw jnats, on
 * Sluice and (for {@code rabbitmq}) on a RabbitMQ quorum queue, reported side by side against the
 * targets of docs/BENCHMARKS.md, with PNG charts. Not tests: nothing here fails a build.
 *
 * <p>Exit status: 0 measured (targets met or not), 2 bad options, 3 the benchmark failed. With
 * {@code --json} a failure is also printed as a JSON object on stdout.
 */
public final class Bench {
  private Bench() {}

  /** Runs the benchmark named by the first argument; exits with the status above. */
  public static void main(String[] args) {
    Settings s;
    try {
      s = Settings.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(Settings.usage());
      if (java.util.Arrays.asList(args).contains("--json")) {
        System.out.println(
            Json.error(
                args.length > 0 ? args[0] : "",
                e.getMessage(),
                "fix the option; scripts/bench BENCHMARK --help lists them"));
      }
      System.exit(2);
      return;
    }
    int rc;
    try {
      rc = run(s);
    } catch (Exception e) {
      System.err.println();
      System.err.println("bench: failed: " + e);
      e.printStackTrace();
      if (s.json()) {
        System.out.println(
            Json.error(
                s.benchmark(),
                String.valueOf(e),
                "see the stack trace on stderr; rerun with --progress lines to see the phase"));
      }
      rc = 3;
    }
    System.exit(rc);
  }

  static int run(Settings s) throws Exception {
    Progress progress = new Progress(s.progress());
    String version;
    try (Connection c = Pipeline.connect(s.server(), "bench-probe")) {
      version = c.getServerInfo().getVersion();
      Pipeline.awaitJetStream(c);
    }
    progress.say(
        String.format(
            Locale.ROOT,
            "%s on nats-server %s at %s: %d s warm-up (first pass), %d s measured per pass",
            s.benchmark(),
            version,
            s.server(),
            s.warmupSeconds(),
            s.seconds()));
    String id = UUID.randomUUID().toString().substring(0, 8);
    Driver driver = new Driver(s, progress);
    if (s.only() != null) {
      Result r = driver.run(Comparison.pipeline(s, s.only(), id), s.warmupSeconds(), s.seconds());
      System.out.println(r);
      return 0;
    }
    int rc =
        switch (s.benchmark()) {
          case Settings.SLOW_WORKERS, Settings.CREDIT_OVERHEAD ->
              new Comparison(s, driver, id).run(version);
          case Settings.GRANT_LATENCY -> new GrantLatency(s, progress, id).run();
          case Settings.SCALE -> new Scale(s, driver, id).run();
          case Settings.MEMORY -> new Memory(s, progress, id).run();
          case Settings.CLUSTER -> new ClusterBench(s, progress, id).run();
          case Settings.RABBITMQ -> new RabbitBench(s, progress, id).run();
          case Settings.SCHEDULED -> new ScheduledBench(s, progress, id).run();
          case Settings.FAIRNESS -> new FairnessBench(s, progress, id).run();
          case Settings.RATE_LIMIT -> new RateLimitBench(s, progress, id).run();
          case Settings.PUSHBACK -> new PushbackBench(s, progress, id).run();
          default -> throw new IllegalStateException("no benchmark " + s.benchmark());
        };
    System.out.flush();
    return rc;
  }
}
