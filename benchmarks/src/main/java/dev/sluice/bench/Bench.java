package dev.sluice.bench;

import io.nats.client.Connection;
import java.io.PrintStream;
import java.util.Locale;
import java.util.UUID;

/**
 * The benchmarks behind {@code scripts/bench}: the same producer and handler once on raw jnats and
 * once on Sluice, each on its own fresh queue of the same nats-server, reported side by side with
 * their ratios against the targets of docs/BENCHMARKS.md. Not tests: nothing here fails a build.
 *
 * <p>Exit status: 0 measured (targets met or not), 2 bad options, 3 the benchmark failed.
 */
public final class Bench {
  static final double SLOW_THROUGHPUT_TARGET = 0.95;
  static final double SLOW_P99_TARGET_MS = 50;
  static final double OVERHEAD_RATIO_TARGET = 0.85;
  static final double CREDIT_MSGS_TARGET = 0.05;

  private Bench() {}

  public static void main(String[] args) {
    Settings s;
    try {
      s = Settings.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(Settings.USAGE);
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
      rc = 3;
    }
    System.exit(rc);
  }

  static int run(Settings s) throws Exception {
    Progress progress = new Progress(s.progress());
    String version;
    try (Connection c = Pipeline.connect(s.server(), "bench-probe")) {
      version = c.getServerInfo().getVersion();
    }
    progress.say(
        String.format(
            Locale.ROOT,
            "%s on nats-server %s at %s: %d s warm-up + %d s measured per pipeline",
            s.benchmark(),
            version,
            s.server(),
            s.warmupSeconds(),
            s.seconds()));
    String id = UUID.randomUUID().toString().substring(0, 8);
    Driver driver = new Driver(s, progress);
    if (s.only() != null) {
      Result r =
          driver.run(s.only().equals("raw") ? new RawPipeline(s, id) : new SluicePipeline(s, id));
      System.out.println(r);
      return 0;
    }
    Result raw = driver.run(new RawPipeline(s, id));
    Result sluice = driver.run(new SluicePipeline(s, id));
    PrintStream summary = s.json() ? System.err : System.out;
    if (s.benchmark().equals(Settings.SLOW_WORKERS)) {
      slowWorkersSummary(summary, s, version, raw, sluice);
      if (s.json()) {
        System.out.println(slowWorkersJson(raw, sluice));
      }
    } else {
      creditOverheadSummary(summary, s, version, raw, sluice);
      if (s.json()) {
        System.out.println(creditOverheadJson(raw, sluice));
      }
    }
    System.out.flush();
    return 0;
  }

  // ------------------------------------------------------------------------------ slow-workers

  static void slowWorkersSummary(
      PrintStream out, Settings s, String version, Result raw, Result sluice) {
    long window = sluice.extra("window");
    long slack = sluice.extra("slack");
    out.printf(
        Locale.ROOT,
        "slow-workers: nats-server %s, %d handler threads x %d us of work, %d sends in flight,"
            + " %d s measured; Sluice: %s%n",
        version,
        s.concurrency(),
        s.workMicros(),
        s.outstanding(),
        s.seconds(),
        sluiceConfig(s));
    out.printf(
        Locale.ROOT,
        "%-8s %12s %12s %12s %10s %10s %10s %10s%n",
        "",
        "msg/s",
        "max backlog",
        "mean backlog",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "handled");
    for (Result r : new Result[] {raw, sluice}) {
      out.printf(
          Locale.ROOT,
          "%-8s %12.1f %12d %12.1f %10.2f %10.2f %10.2f %10d%n",
          r.pipeline(),
          r.throughput(),
          r.maxBacklog(),
          r.meanBacklog(),
          r.p50Ms(),
          r.p99Ms(),
          r.p999Ms(),
          r.handled());
    }
    double ratio = sluice.throughput() / raw.throughput();
    out.printf(
        Locale.ROOT,
        "throughput sluice/raw %.3f (target >= %.2f): %s%n",
        ratio,
        SLOW_THROUGHPUT_TARGET,
        verdict(ratio >= SLOW_THROUGHPUT_TARGET));
    out.printf(
        Locale.ROOT,
        "max backlog %d (target <= window %d + slack %d = %d): %s;"
            + " worst sample vs the window advertised at that instant: %+d%n",
        sluice.maxBacklog(),
        window,
        slack,
        window + slack,
        verdict(sluice.maxBacklog() <= window + slack),
        sluice.extra("max_excess"));
    out.printf(
        Locale.ROOT,
        "e2e p99 %.2f ms (target <= %.0f ms): %s%n",
        sluice.p99Ms(),
        SLOW_P99_TARGET_MS,
        verdict(sluice.p99Ms() <= SLOW_P99_TARGET_MS));
  }

  static String slowWorkersJson(Result raw, Result sluice) {
    return "{\"raw\": "
        + latencyFields(raw, "")
        + ", \"sluice\": "
        + latencyFields(
            sluice,
            ", \"window\": " + sluice.extra("window") + ", \"slack\": " + sluice.extra("slack"))
        + "}";
  }

  private static String latencyFields(Result r, String more) {
    return String.format(
        Locale.ROOT,
        "{\"throughput\": %.1f, \"max_backlog\": %d, \"mean_backlog\": %.1f, \"p50_ms\": %.3f,"
            + " \"p99_ms\": %.3f, \"p999_ms\": %.3f%s}",
        r.throughput(),
        r.maxBacklog(),
        r.meanBacklog(),
        r.p50Ms(),
        r.p99Ms(),
        r.p999Ms(),
        more);
  }

  // --------------------------------------------------------------------------- credit-overhead

  /** Token publishes plus ProducerReport/ledger writes plus adverts, per message handled. */
  static double creditMsgsPerMsg(Result sluice) {
    long n = creditMsgs(sluice);
    return sluice.handled() == 0 ? 0 : (double) n / sluice.handled();
  }

  static long creditMsgs(Result sluice) {
    return sluice.extra("token_publishes")
        + sluice.extra("control_writes")
        + sluice.extra("advert_writes");
  }

  static void creditOverheadSummary(
      PrintStream out, Settings s, String version, Result raw, Result sluice) {
    out.printf(
        Locale.ROOT,
        "credit-overhead: nats-server %s, %d no-op handler threads (%d us), %d sends in flight,"
            + " %d s measured; Sluice: %s, max window %d%n",
        version,
        s.concurrency(),
        s.workMicros(),
        s.outstanding(),
        s.seconds(),
        sluiceConfig(s),
        sluice.extra("window"));
    out.printf(
        Locale.ROOT, "%-8s %12s %10s %12s %12s%n", "", "msg/s", "handled", "max backlog", "p99 ms");
    for (Result r : new Result[] {raw, sluice}) {
      out.printf(
          Locale.ROOT,
          "%-8s %12.1f %10d %12d %12.2f%n",
          r.pipeline(),
          r.throughput(),
          r.handled(),
          r.maxBacklog(),
          r.p99Ms());
    }
    double ratio = sluice.throughput() / raw.throughput();
    out.printf(
        Locale.ROOT,
        "throughput sluice/raw %.3f (target >= %.2f): %s%n",
        ratio,
        OVERHEAD_RATIO_TARGET,
        verdict(ratio >= OVERHEAD_RATIO_TARGET));
    long handled = Math.max(1, sluice.handled());
    out.printf(
        Locale.ROOT,
        "credit messages %d for %d messages: %.4f per message (target <= %.2f): %s%n"
            + "  token publishes %d (%.4f/msg), sluice-control writes (ProducerReports, ledger)"
            + " %d (%.4f/msg), capacity adverts %d (%.4f/msg)%n",
        creditMsgs(sluice),
        sluice.handled(),
        creditMsgsPerMsg(sluice),
        CREDIT_MSGS_TARGET,
        verdict(creditMsgsPerMsg(sluice) <= CREDIT_MSGS_TARGET),
        sluice.extra("token_publishes"),
        (double) sluice.extra("token_publishes") / handled,
        sluice.extra("control_writes"),
        (double) sluice.extra("control_writes") / handled,
        sluice.extra("advert_writes"),
        (double) sluice.extra("advert_writes") / handled);
  }

  static String creditOverheadJson(Result raw, Result sluice) {
    return String.format(
        Locale.ROOT,
        "{\"raw\": {\"throughput\": %.1f}, \"sluice\": {\"throughput\": %.1f,"
            + " \"credit_msgs_per_msg\": %.4f}, \"ratio\": %.3f}",
        raw.throughput(),
        sluice.throughput(),
        creditMsgsPerMsg(sluice),
        sluice.throughput() / raw.throughput());
  }

  static String sluiceConfig(Settings s) {
    String window =
        s.latencyTargetMs() > 0
            ? String.format(
                Locale.ROOT,
                "latency target %d ms (window = %d + rate x target, at most %d)",
                s.latencyTargetMs(),
                s.concurrency(),
                s.maxCapacity())
            : "static window " + (s.concurrency() + s.prefetch());
    return String.format(
        Locale.ROOT,
        "token batch %d, worker prefetch %d, %s, heartbeat %d ms",
        s.tokenBatch(),
        s.prefetch(),
        window,
        s.heartbeatMs());
  }

  private static String verdict(boolean met) {
    return met ? "met" : "MISSED";
  }
}
