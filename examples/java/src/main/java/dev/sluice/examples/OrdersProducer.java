package dev.sluice.examples;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QuietPullErrorListener;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A Java producer of the orders example, with the command line and output of the example's Go
 * producer: sends {@code --count} orders, alternating schema versions 1 and 2, message ids {@code
 * <id-prefix>-<n>} from 1, each send waiting for a credit; prints progress to stderr and, with
 * {@code --json}, the last stdout line {@code {"sent": N, "failed": F, "max_credit_wait_ms": X}},
 * where X is the longest send (the wait for a credit and the PubAck). Exit status 0 when every
 * order was stored.
 *
 * <pre>
 * java -cp ... dev.sluice.examples.OrdersProducer --server nats://127.0.0.1:4222 \
 *     --queue orders-polyglot --count 2000 [--rate 500] [--json]
 * </pre>
 */
@Command(
    name = "OrdersProducer",
    mixinStandardHelpOptions = true,
    description = "Sends examples.Order messages (versions 1 and 2) to a Sluice queue.")
public final class OrdersProducer implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", required = true, paramLabel = "Q")
  String queue;

  @Option(names = "--count", required = true, paramLabel = "N")
  int count;

  @Option(
      names = "--rate",
      defaultValue = "0",
      paramLabel = "PER_SEC",
      description = "Orders per second at most; 0 (default) sends as fast as credits allow.")
  double rate;

  @Option(names = "--json", description = "Print the summary as the last stdout line.")
  boolean json;

  @Option(names = "--id-prefix", defaultValue = "java", description = "Message ids <prefix>-<n>.")
  String idPrefix;

  public static void main(String[] args) {
    System.exit(new CommandLine(new OrdersProducer()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (count < 0 || rate < 0) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--count and --rate must be >= 0");
    }
    long sent = 0;
    long failed = 0;
    long maxWaitNanos = 0;
    long intervalNanos = rate > 0 ? (long) (1e9 / rate) : 0;
    try (Connection nc =
            Nats.connect(
                Options.builder()
                    .server(server)
                    .connectionName("orders-producer-" + idPrefix)
                    .errorListener(new QuietPullErrorListener())
                    .build());
        QueueProducer producer =
            Sluice.using(nc)
                .producer(queue)
                .producerId(idPrefix)
                // The workers may be slower than this producer: wait for credits that long.
                .acquireTimeout(Duration.ofSeconds(60))
                .build()) {
      long start = System.nanoTime();
      for (int n = 1; n <= count; n++) {
        if (intervalNanos > 0) {
          // Pacing to --rate, not a wait for a condition.
          LockSupport.parkNanos(start + (n - 1) * intervalNanos - System.nanoTime());
        }
        int version = n % 2 == 1 ? 1 : 2;
        String id = idPrefix + "-" + n;
        var codec = version == 1 ? OrderSchema.V1 : OrderSchema.V2;
        OutgoingMessage m =
            OutgoingMessage.builder(
                    codec.type(),
                    codec.version(),
                    codec.encode(
                        OrderSchema.order(
                            id, "customer-" + (n % 17), 1 + n % 5, 100L * n, version)))
                .contentType(codec.contentType())
                .messageId(id)
                .build();
        long t = System.nanoTime();
        try {
          producer.send(m);
          sent++;
        } catch (RuntimeException e) {
          failed++;
          System.err.println("orders producer: send " + id + " failed: " + e.getMessage());
        }
        maxWaitNanos = Math.max(maxWaitNanos, System.nanoTime() - t);
        if (n % 500 == 0) {
          System.err.printf("orders producer: %d/%d sent%n", sent, count);
        }
      }
    }
    System.err.printf(
        "orders producer: sent %d, failed %d, longest send %d ms%n",
        sent, failed, maxWaitNanos / 1_000_000);
    if (json) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("sent", sent);
      s.put("failed", failed);
      s.put("max_credit_wait_ms", maxWaitNanos / 1_000_000);
      new JsonLines(System.out).emit(s);
    }
    return failed == 0 ? 0 : 1;
  }
}
