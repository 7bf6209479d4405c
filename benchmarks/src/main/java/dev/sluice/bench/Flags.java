package dev.sluice.bench;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The command line of {@code scripts/bench} as picocli reads it; {@link Settings} applies the
 * defaults.
 */
@Command(
    name = "scripts/bench",
    sortOptions = false,
    description =
        "Sluice against raw jnats (and RabbitMQ) on real brokers; see docs/BENCHMARKS.md.")
final class Flags {
  @Parameters(
      index = "0",
      paramLabel = "BENCHMARK",
      description =
          "slow-workers, credit-overhead, grant-latency, scale, memory, cluster or rabbitmq")
  String benchmark;

  @Option(
      names = "--server",
      paramLabel = "URL",
      description = "nats-server URL(s), comma-separated")
  String server;

  @Option(names = "--json", description = "print only the JSON result as the last stdout line")
  boolean json;

  @Option(
      names = "--seconds",
      description = "measured seconds per pass (default 15, scale and cluster 10)")
  Integer seconds;

  @Option(
      names = "--warmup",
      description =
          "warm-up seconds of a pipeline's first pass, for the JIT (default 20, scale/cluster/rabbitmq 15)")
  Integer warmup;

  @Option(
      names = "--rewarm",
      defaultValue = "3",
      description = "warm-up seconds of later passes (default 3)")
  int rewarm;

  @Option(
      names = "--rounds",
      defaultValue = "3",
      description =
          "slow-workers/credit-overhead: raw,sluice pairs alternated; medians reported (default 3)")
  int rounds;

  @Option(names = "--work-us", description = "handler work per message in µs (slow 1000, fast 0)")
  Integer workMicros;

  @Option(
      names = "--concurrency",
      defaultValue = "8",
      description = "handler threads per worker (default 8)")
  int concurrency;

  @Option(
      names = "--prefetch",
      description = "Sluice worker prefetch (slow 184, fast 1016); window = concurrency + prefetch")
  Integer prefetch;

  @Option(
      names = "--idempotency-keys",
      defaultValue = "0",
      description =
          "Sluice workers remember this many processed ids (local store) instead of the default"
              + " 100,000 (default 0 = the library's default)")
  int idempotencyKeys;

  @Option(
      names = "--latency-target-ms",
      defaultValue = "0",
      description = "Sluice latency-target window instead of a static one (default 0 = off)")
  int latencyTargetMs;

  @Option(
      names = "--max-capacity",
      description = "upper bound of that window (slow 256, fast 1000)")
  Integer maxCapacity;

  @Option(
      names = "--heartbeat-ms",
      defaultValue = "250",
      description = "Sluice advert heartbeat (default 250; ttl 4x)")
  int heartbeatMs;

  @Option(
      names = "--token-batch",
      description = "Sluice token batch, a power of two (slow 16, fast 64, grant-latency 1)")
  Integer tokenBatch;

  @Option(names = "--outstanding", description = "sends in flight per producer (slow 64, fast 512)")
  Integer outstanding;

  @Option(
      names = "--payload",
      defaultValue = "128",
      description = "payload bytes (default 128; the first 8 carry the send time)")
  int payload;

  @Option(
      names = "--producers",
      defaultValue = "1,2,4,8",
      split = ",",
      description = "scale: producer counts (default 1,2,4,8)")
  int[] producers;

  @Option(
      names = "--workers",
      defaultValue = "1,2,4,8",
      split = ",",
      description = "scale: worker counts (default 1,2,4,8)")
  int[] workers;

  @Option(
      names = "--backlog",
      defaultValue = "1000000",
      description = "memory: messages published raw before the worker starts (default 1000000)")
  int backlog;

  @Option(
      names = "--replicas",
      defaultValue = "1,3",
      split = ",",
      description = "cluster: stream replicas to compare (default 1,3)")
  int[] replicas;

  @Option(
      names = "--server-pid",
      split = ",",
      description = "nats-server pid(s), for CPU per message")
  long[] serverPids;

  @Option(
      names = "--rabbitmq",
      paramLabel = "URI",
      description = "rabbitmq: the broker's amqp:// URI")
  String rabbitmq;

  @Option(
      names = "--rabbitmq-pid",
      split = ",",
      description = "rabbitmq: the broker's pid(s), for CPU per message")
  long[] rabbitmqPids;

  @Option(
      names = "--out",
      defaultValue = "target/bench",
      description = "directory for the PNG charts (default target/bench)")
  Path out;

  @Option(
      names = "--progress",
      defaultValue = "lines",
      description = "tty, lines or none (default lines)")
  String progress;

  @Option(
      names = "--only",
      description =
          "slow-workers/credit-overhead: run one pipeline once (raw, sluice, or a floor pipeline:"
              + " raw-id, raw-wire, raw-compact)")
  String only;

  @Option(
      names = "--floor",
      description =
          "credit-overhead: alternate raw, raw-id, raw-wire, raw-compact and sluice (the wire"
              + " floor; about 6.5 minutes with the defaults)")
  boolean floor;

  @Option(
      names = "--no-hops",
      description =
          "grant-latency: do not split each pair into hops (no tap connection watching the wire)")
  boolean noHops;
}
