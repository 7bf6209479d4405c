package dev.sluice.bench;

import java.util.Locale;

/** What one benchmark run does; parsed from the command line. */
record Settings(
    String benchmark,
    String server,
    boolean json,
    int seconds,
    int warmupSeconds,
    long workMicros,
    int concurrency,
    int prefetch,
    int latencyTargetMs,
    int maxCapacity,
    int heartbeatMs,
    int tokenBatch,
    int outstanding,
    int payloadBytes,
    String progress,
    String only) {

  static final String SLOW_WORKERS = "slow-workers";
  static final String CREDIT_OVERHEAD = "credit-overhead";

  static final String USAGE =
      """
      usage: Bench <slow-workers|credit-overhead> --server URL [options]
        --json              print only the JSON result line on stdout (summary goes to stderr)
        --seconds N         measured seconds per pipeline (default 15)
        --warmup N          unmeasured seconds before that (default 3)
        --work-us N         handler work per message in microseconds (slow-workers 1000, credit-overhead 0)
        --concurrency N     handler threads, raw and Sluice alike (default 8)
        --prefetch N        Sluice worker prefetch: messages pulled ahead of free handlers
                            (slow-workers 184, credit-overhead 1016); the window is
                            concurrency + prefetch when --latency-target-ms is 0
        --latency-target-ms N  Sluice worker latency target: window = concurrency +
                            service rate x target + 2 x token batch (default 0 = off)
        --max-capacity N    upper bound of that window (slow-workers 256, credit-overhead 1000)
        --heartbeat-ms N    Sluice worker advert heartbeat (default 250; ttl is 4x)
        --token-batch N     Sluice token batch, a power of two (slow-workers 16, credit-overhead 64)
        --outstanding N     sends in flight per producer, raw and Sluice alike
                            (slow-workers 64, credit-overhead 512)
        --payload N         payload bytes (default 128; the first 8 carry the send time)
        --progress MODE     tty (one refreshed line), lines, or none (default lines)
        --only raw|sluice   run one pipeline (for tuning: no ratios, no JSON)
      """;

  static Settings parse(String[] args) {
    if (args.length == 0) {
      throw new IllegalArgumentException("no benchmark given");
    }
    String bench = args[0];
    boolean slow;
    if (bench.equals(SLOW_WORKERS)) {
      slow = true;
    } else if (bench.equals(CREDIT_OVERHEAD)) {
      slow = false;
    } else {
      throw new IllegalArgumentException("unknown benchmark '" + bench + "'");
    }
    String server = null;
    boolean json = false;
    int seconds = 15;
    int warmup = 3;
    long work = slow ? 1000 : 0;
    int concurrency = 8;
    // slow-workers: a static window of 192 (8 handlers + 184) is ~35 ms of queue at ~5,500 msg/s,
    // inside the 50 ms p99 budget and deep enough to keep the handlers fed (docs/BENCHMARKS.md).
    int prefetch = slow ? 184 : 1016;
    int latencyTarget = 0;
    int maxCapacity = slow ? 256 : 1000;
    int heartbeat = 250;
    int batch = slow ? 16 : 64;
    int outstanding = slow ? 64 : 512;
    int payload = 128;
    String progress = "lines";
    String only = null;
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--json" -> json = true;
        case "--server" -> server = value(args, ++i, a);
        case "--seconds" -> seconds = intValue(args, ++i, a, 1, 3600);
        case "--warmup" -> warmup = intValue(args, ++i, a, 0, 600);
        case "--work-us" -> work = intValue(args, ++i, a, 0, 1_000_000);
        case "--concurrency" -> concurrency = intValue(args, ++i, a, 1, 4096);
        case "--prefetch" -> prefetch = intValue(args, ++i, a, 1, 4096);
        case "--latency-target-ms" -> latencyTarget = intValue(args, ++i, a, 0, 60_000);
        case "--max-capacity" -> maxCapacity = intValue(args, ++i, a, 1, 1_000_000);
        case "--heartbeat-ms" -> heartbeat = intValue(args, ++i, a, 10, 60_000);
        case "--token-batch" -> batch = intValue(args, ++i, a, 1, 1 << 20);
        case "--outstanding" -> outstanding = intValue(args, ++i, a, 1, 100_000);
        case "--payload" -> payload = intValue(args, ++i, a, 8, 1 << 20);
        case "--only" -> {
          only = value(args, ++i, a);
          if (!only.matches("raw|sluice")) {
            throw new IllegalArgumentException("--only must be raw or sluice");
          }
        }
        case "--progress" -> {
          progress = value(args, ++i, a).toLowerCase(Locale.ROOT);
          if (!progress.matches("tty|lines|none")) {
            throw new IllegalArgumentException("--progress must be tty, lines or none");
          }
        }
        default -> throw new IllegalArgumentException("unknown option '" + a + "'");
      }
    }
    if (server == null) {
      throw new IllegalArgumentException("--server URL is required");
    }
    if (Integer.bitCount(batch) != 1) {
      throw new IllegalArgumentException("--token-batch must be a power of two, got " + batch);
    }
    return new Settings(
        bench,
        server,
        json,
        seconds,
        warmup,
        work,
        concurrency,
        prefetch,
        latencyTarget,
        maxCapacity,
        heartbeat,
        batch,
        outstanding,
        payload,
        progress,
        only);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static int intValue(String[] args, int i, String option, int min, int max) {
    String v = value(args, i, option);
    int n;
    try {
      n = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " needs a number, got '" + v + "'");
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(option + " must be in [" + min + ", " + max + "]");
    }
    return n;
  }
}
