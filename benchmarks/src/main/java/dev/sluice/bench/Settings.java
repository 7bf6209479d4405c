package dev.sluice.bench;

import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

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

  /** The command line as picocli reads it; options left out get the benchmark's default. */
  @Command(name = "Bench")
  static final class Flags {
    @Parameters(index = "0", paramLabel = "BENCHMARK")
    String benchmark;

    @Option(names = "--server", paramLabel = "URL")
    String server;

    @Option(names = "--json")
    boolean json;

    @Option(names = "--seconds", defaultValue = "15")
    int seconds;

    @Option(names = "--warmup", defaultValue = "3")
    int warmup;

    @Option(names = "--work-us")
    Integer workMicros;

    @Option(names = "--concurrency", defaultValue = "8")
    int concurrency;

    @Option(names = "--prefetch")
    Integer prefetch;

    @Option(names = "--latency-target-ms", defaultValue = "0")
    int latencyTargetMs;

    @Option(names = "--max-capacity")
    Integer maxCapacity;

    @Option(names = "--heartbeat-ms", defaultValue = "250")
    int heartbeatMs;

    @Option(names = "--token-batch")
    Integer tokenBatch;

    @Option(names = "--outstanding")
    Integer outstanding;

    @Option(names = "--payload", defaultValue = "128")
    int payload;

    @Option(names = "--progress", defaultValue = "lines")
    String progress;

    @Option(names = "--only")
    String only;
  }

  /** Reads the command line; throws {@link IllegalArgumentException} naming the bad option. */
  static Settings parse(String[] args) {
    if (args.length == 0) {
      throw new IllegalArgumentException("no benchmark given");
    }
    Flags f = new Flags();
    try {
      new CommandLine(f).parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    boolean slow;
    if (f.benchmark.equals(SLOW_WORKERS)) {
      slow = true;
    } else if (f.benchmark.equals(CREDIT_OVERHEAD)) {
      slow = false;
    } else {
      throw new IllegalArgumentException("unknown benchmark '" + f.benchmark + "'");
    }
    if (f.server == null) {
      throw new IllegalArgumentException("--server URL is required");
    }
    // slow-workers: a static window of 192 (8 handlers + 184) is ~35 ms of queue at ~5,500 msg/s,
    // inside the 50 ms p99 budget and deep enough to keep the handlers fed (docs/BENCHMARKS.md).
    int prefetch = or(f.prefetch, slow ? 184 : 1016);
    int batch = or(f.tokenBatch, slow ? 16 : 64);
    String progress = f.progress.toLowerCase(Locale.ROOT);
    if (!progress.matches("tty|lines|none")) {
      throw new IllegalArgumentException("--progress must be tty, lines or none");
    }
    if (f.only != null && !f.only.matches("raw|sluice")) {
      throw new IllegalArgumentException("--only must be raw or sluice");
    }
    if (Integer.bitCount(batch) != 1) {
      throw new IllegalArgumentException("--token-batch must be a power of two, got " + batch);
    }
    return new Settings(
        f.benchmark,
        f.server,
        f.json,
        range("--seconds", f.seconds, 1, 3600),
        range("--warmup", f.warmup, 0, 600),
        range("--work-us", or(f.workMicros, slow ? 1000 : 0), 0, 1_000_000),
        range("--concurrency", f.concurrency, 1, 4096),
        range("--prefetch", prefetch, 1, 4096),
        range("--latency-target-ms", f.latencyTargetMs, 0, 60_000),
        range("--max-capacity", or(f.maxCapacity, slow ? 256 : 1000), 1, 1_000_000),
        range("--heartbeat-ms", f.heartbeatMs, 10, 60_000),
        range("--token-batch", batch, 1, 1 << 20),
        range("--outstanding", or(f.outstanding, slow ? 64 : 512), 1, 100_000),
        range("--payload", f.payload, 8, 1 << 20),
        progress,
        f.only);
  }

  private static int or(Integer value, int byDefault) {
    return value != null ? value : byDefault;
  }

  private static int range(String option, int n, int min, int max) {
    if (n < min || n > max) {
      throw new IllegalArgumentException(option + " must be in [" + min + ", " + max + "]");
    }
    return n;
  }
}
