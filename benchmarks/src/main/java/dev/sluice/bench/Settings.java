package dev.sluice.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine;

/**
 * What one benchmark run does, read from the command line by picocli; options left out get the
 * benchmark's default. Immutable.
 */
final class Settings {
  static final String SLOW_WORKERS = "slow-workers";
  static final String CREDIT_OVERHEAD = "credit-overhead";
  static final String GRANT_LATENCY = "grant-latency";
  static final String SCALE = "scale";
  static final String MEMORY = "memory";
  static final String CLUSTER = "cluster";
  static final String RABBITMQ = "rabbitmq";
  static final String SCHEDULED = "scheduled";
  static final String FAIRNESS = "fairness";
  static final String RATE_LIMIT = "rate-limit";
  static final String PUSHBACK = "pushback";
  static final Set<String> BENCHMARKS =
      Set.of(
          SLOW_WORKERS,
          CREDIT_OVERHEAD,
          GRANT_LATENCY,
          SCALE,
          MEMORY,
          CLUSTER,
          RABBITMQ,
          SCHEDULED,
          FAIRNESS,
          RATE_LIMIT,
          PUSHBACK);

  private final Flags f;
  private final boolean slow;

  private Settings(Flags f) {
    this.f = f;
    this.slow = !f.benchmark.equals(CREDIT_OVERHEAD);
  }

  /** The usage text picocli builds from the options above. */
  static String usage() {
    return new CommandLine(new Flags()).getUsageMessage();
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
    if (!BENCHMARKS.contains(f.benchmark)) {
      throw new IllegalArgumentException(
          "unknown benchmark '"
              + f.benchmark
              + "' (one of "
              + String.join(", ", BENCHMARKS.stream().sorted().toList())
              + ")");
    }
    if (f.server == null) {
      throw new IllegalArgumentException("--server URL is required");
    }
    if (f.benchmark.equals(RABBITMQ) && f.rabbitmq == null) {
      throw new IllegalArgumentException("--rabbitmq URI is required for the rabbitmq benchmark");
    }
    f.progress = f.progress.toLowerCase(Locale.ROOT);
    if (!f.progress.matches("tty|lines|none")) {
      throw new IllegalArgumentException("--progress must be tty, lines or none");
    }
    if (f.only != null && !f.only.matches("raw|raw-id|raw-wire|raw-compact|sluice")) {
      throw new IllegalArgumentException(
          "--only must be raw, raw-id, raw-wire, raw-compact or sluice");
    }
    if (f.noHops && !f.benchmark.equals(GRANT_LATENCY)) {
      throw new IllegalArgumentException("--no-hops is an option of grant-latency");
    }
    if (f.floor && !f.benchmark.equals(CREDIT_OVERHEAD)) {
      throw new IllegalArgumentException("--floor is an option of credit-overhead");
    }
    Settings s = new Settings(f);
    if (Integer.bitCount(s.tokenBatch()) != 1) {
      throw new IllegalArgumentException(
          "--token-batch must be a power of two, got " + s.tokenBatch());
    }
    range("--seconds", s.seconds(), 1, 3600);
    range("--warmup", s.warmupSeconds(), 0, 600);
    range("--rewarm", f.rewarm, 0, 600);
    range("--rounds", f.rounds, 1, 20);
    range("--work-us", (int) s.workMicros(), 0, 1_000_000);
    range("--concurrency", f.concurrency, 1, 4096);
    range("--prefetch", s.prefetch(), 1, 4096);
    range("--latency-target-ms", f.latencyTargetMs, 0, 60_000);
    range("--idempotency-keys", f.idempotencyKeys, 0, 100_000_000);
    range("--max-capacity", s.maxCapacity(), 1, 1_000_000);
    range("--heartbeat-ms", f.heartbeatMs, 10, 60_000);
    range("--outstanding", s.outstanding(), 1, 100_000);
    range("--payload", f.payload, 8, 1 << 20);
    range("--backlog", f.backlog, 1, 100_000_000);
    for (int n : f.producers) {
      range("--producers", n, 1, 64);
    }
    for (int n : f.workers) {
      range("--workers", n, 1, 64);
    }
    for (int n : f.replicas) {
      if (n != 1 && n != 3) {
        throw new IllegalArgumentException("--replicas takes 1 and/or 3, got " + n);
      }
    }
    return s;
  }

  private static int or(Integer value, int byDefault) {
    return value != null ? value : byDefault;
  }

  private static void range(String option, int n, int min, int max) {
    if (n < min || n > max) {
      throw new IllegalArgumentException(
          option + " must be in [" + min + ", " + max + "], got " + n);
    }
  }

  private boolean shortPasses() {
    return f.benchmark.equals(SCALE) || f.benchmark.equals(CLUSTER);
  }

  String benchmark() {
    return f.benchmark;
  }

  String server() {
    return f.server;
  }

  boolean json() {
    return f.json;
  }

  int seconds() {
    return or(f.seconds, shortPasses() ? 10 : 15);
  }

  /** The measured seconds given with --seconds, else {@code dflt}. */
  int secondsOr(int dflt) {
    return or(f.seconds, dflt);
  }

  int warmupSeconds() {
    return or(f.warmup, shortPasses() || f.benchmark.equals(RABBITMQ) ? 15 : 20);
  }

  int rewarmSeconds() {
    return f.rewarm;
  }

  int rounds() {
    return f.rounds;
  }

  /** Handler work: 1 ms by default, none for credit-overhead, 5 ms for grant-latency. */
  long workMicros() {
    return or(f.workMicros, f.benchmark.equals(GRANT_LATENCY) ? 5000 : slow ? 1000 : 0);
  }

  int concurrency() {
    return f.concurrency;
  }

  // slow: a static window of 192 (8 handlers + 184) is ~35 ms of queue at ~5,500 msg/s, inside
  // the 50 ms p99 budget and deep enough to keep the handlers fed (docs/BENCHMARKS.md).
  int prefetch() {
    return or(f.prefetch, slow ? 184 : 1016);
  }

  int latencyTargetMs() {
    return f.latencyTargetMs;
  }

  /** Ids a Sluice worker's local idempotency store keeps, or 0 for the library's default. */
  int idempotencyKeys() {
    return f.idempotencyKeys;
  }

  int maxCapacity() {
    return or(f.maxCapacity, slow ? 256 : 1000);
  }

  int heartbeatMs() {
    return f.heartbeatMs;
  }

  int tokenBatch() {
    return or(f.tokenBatch, f.benchmark.equals(GRANT_LATENCY) ? 1 : slow ? 16 : 64);
  }

  int outstanding() {
    return or(f.outstanding, slow ? 64 : 512);
  }

  int payloadBytes() {
    return f.payload;
  }

  List<Integer> producerCounts() {
    return Arrays.stream(f.producers).boxed().toList();
  }

  List<Integer> workerCounts() {
    return Arrays.stream(f.workers).boxed().toList();
  }

  int backlog() {
    return f.backlog;
  }

  List<Integer> replicas() {
    return Arrays.stream(f.replicas).boxed().toList();
  }

  List<Long> serverPids() {
    return f.serverPids == null ? List.of() : Arrays.stream(f.serverPids).boxed().toList();
  }

  String rabbitmq() {
    return f.rabbitmq;
  }

  List<Long> rabbitmqPids() {
    return f.rabbitmqPids == null ? List.of() : Arrays.stream(f.rabbitmqPids).boxed().toList();
  }

  /** Publisher confirms outstanding on the RabbitMQ producer (1,000). */
  int rabbitmqConfirmWindow() {
    return 1000;
  }

  /** Unacked deliveries on the RabbitMQ consumer (basic.qos 1,000). */
  int rabbitmqPrefetch() {
    return 1000;
  }

  Path out() {
    return f.out;
  }

  String progress() {
    return f.progress;
  }

  String only() {
    return f.only;
  }

  /** grant-latency: split each pair into hops with a tap connection. */
  boolean hops() {
    return !f.noHops;
  }

  /** credit-overhead: also run the floor pipelines raw-id, raw-wire and raw-compact. */
  boolean floor() {
    return f.floor;
  }

  /**
   * A copy of these settings for another workload ({@code slow-workers} or {@code
   * credit-overhead}).
   */
  Settings forWorkload(String workload) {
    Flags g = new Flags();
    String[] args = {workload, "--server", f.server};
    new CommandLine(g).parseArgs(args);
    g.json = f.json;
    g.seconds = seconds();
    g.warmup = warmupSeconds();
    g.rewarm = f.rewarm;
    g.concurrency = f.concurrency;
    g.heartbeatMs = f.heartbeatMs;
    g.payload = f.payload;
    g.idempotencyKeys = f.idempotencyKeys;
    g.serverPids = f.serverPids;
    g.rabbitmq = f.rabbitmq;
    g.rabbitmqPids = f.rabbitmqPids;
    g.out = f.out;
    g.progress = f.progress;
    return new Settings(g);
  }
}
