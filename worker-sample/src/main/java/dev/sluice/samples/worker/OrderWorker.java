package dev.sluice.samples.worker;

import dev.sluice.Backoff;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.samples.orders.Orders;
import dev.sluice.samples.orders.SampleConnections;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The sample worker program: handles {@code sluice.demo.Order} v2 and, through the upcaster, v1.
 *
 * <pre>
 * java -cp ... dev.sluice.samples.worker.OrderWorker --server nats://127.0.0.1:4222 \
 *     [--concurrency 4] [--prefetch 28] [--work-ms 10] [--fail-rate 0.05]
 * </pre>
 *
 * Ctrl-C shuts it down cleanly: in-flight orders finish, owed credits are minted, the capacity
 * advert is withdrawn.
 */
public final class OrderWorker {
  private OrderWorker() {}

  /** Starts a worker on the orders queue with the sample handler. */
  public static Worker start(
      Sluice sluice, OrderHandler handler, String workerId, int concurrency, int prefetch) {
    return sluice
        .worker(Orders.QUEUE)
        .workerId(workerId)
        .handle(Orders.V2, handler) // the handler is written against the newest schema...
        .upcast(Orders.TYPE, 1, OrderUpcaster::v1ToV2) // ...and old messages are upcast to it
        .concurrency(concurrency) // handlers running at once
        .prefetch(prefetch) // messages pulled ahead; capacity = concurrency + prefetch
        // Retry transient failures after 250 ms, 500 ms, 1 s, ... (the default starts at 1 s).
        .backoff(Backoff.exponential(Duration.ofMillis(250), 2.0, Duration.ofSeconds(10), 0.2))
        // then dead-letter with reason max-attempts
        .deadLetter(DeadLetterPolicy.builder().maxAttempts(5).build())
        // Processed ids are recorded in the shared KV bucket too, so a message redelivered to
        // another worker of the fleet (after a crash) is not handled twice.
        .sharedIdempotency()
        .start();
  }

  /** The command line, as picocli reads it. */
  @Command(name = "OrderWorker", mixinStandardHelpOptions = true)
  static final class Flags {
    @Option(names = "--server", defaultValue = "nats://127.0.0.1:4222", paramLabel = "URL")
    String server;

    @Option(names = "--concurrency", defaultValue = "4", description = "Handlers at once.")
    int concurrency;

    // capacity = concurrency + prefetch; keep it at least the queue's token batch (32): see
    // docs/DEMO.md, "Tuning".
    @Option(names = "--prefetch", defaultValue = "28", description = "Messages pulled ahead.")
    int prefetch;

    @Option(names = "--work-ms", defaultValue = "10", description = "Simulated work per order.")
    long workMs;

    @Option(names = "--fail-rate", defaultValue = "0.05", description = "Transient failures.")
    double failRate;
  }

  public static void main(String[] args) throws Exception {
    Flags f = new Flags();
    CommandLine cl = new CommandLine(f);
    try {
      cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      System.err.println(e.getMessage());
      cl.usage(System.err);
      System.exit(64);
      return;
    }
    if (cl.isUsageHelpRequested()) {
      cl.usage(System.out);
      return;
    }
    String server = f.server;
    int concurrency = f.concurrency;
    int prefetch = f.prefetch;
    long workMs = f.workMs;
    double failRate = f.failRate;
    Effects effects = new Effects();
    OrderHandler handler =
        new OrderHandler(
            new OrderHandler.Settings(Duration.ofMillis(workMs), failRate),
            effects,
            (order, ctx) -> {});
    CountDownLatch stop = new CountDownLatch(1);
    try (Connection nc = SampleConnections.connect(server, "order-worker")) {
      Worker worker =
          start(
              Sluice.using(nc),
              handler,
              "orders-" + ProcessHandle.current().pid(),
              concurrency,
              prefetch);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    worker.close();
                    stop.countDown();
                  }));
      System.err.printf(
          "worker %s: capacity %d; Ctrl-C to stop%n",
          worker.workerId(), worker.advertisedCapacity());
      while (!stop.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
        System.err.printf(
            "processed %d, retried %d, dead-lettered %d, %s%n",
            worker.processedCount(),
            worker.retriedCount(),
            worker.deadLetteredCount(),
            worker.health().state());
      }
    }
  }
}
