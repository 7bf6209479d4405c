package dev.sluice.examples;

import dev.sluice.QuietPullErrorListener;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.examples.orders.Order;
import dev.sluice.spi.OutcomeListener;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Java worker of the orders example: handles {@code examples.Order} versions 1 and 2 (version 1
 * upcast to 2 with currency EUR), spends {@code --service-ms} on each order, and prints one JSON
 * line per processed order, {@code {"event":"processed","id":"<Nats-Msg-Id>","lang":"java",
 * "version":V}}, with V the version the order was sent with. On SIGTERM it shuts down cleanly
 * (in-flight orders finish, owed credits are minted, the advert is withdrawn) and prints {@code
 * {"event":"stopped","processed":N}}. The Go producer and the Rust worker of the example have the
 * same contract (examples/README.md).
 *
 * <pre>
 * java -cp ... dev.sluice.examples.OrdersWorker --server nats://127.0.0.1:4222 \
 *     --queue orders-polyglot --worker-id java-1 [--concurrency 4] [--service-ms 2]
 * </pre>
 */
@Command(
    name = "OrdersWorker",
    mixinStandardHelpOptions = true,
    description = "Consumes examples.Order (versions 1-2) from a Sluice queue.")
public final class OrdersWorker implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", required = true, paramLabel = "Q")
  String queue;

  @Option(names = "--worker-id", required = true, paramLabel = "ID")
  String workerId;

  @Option(names = "--concurrency", defaultValue = "4", description = "Handlers at once.")
  int concurrency;

  @Option(
      names = "--prefetch",
      defaultValue = "4",
      description = "Orders pulled ahead; the capacity is concurrency + prefetch.")
  int prefetch;

  @Option(names = "--service-ms", defaultValue = "0", description = "Simulated work per order.")
  long serviceMs;

  private final JsonLines out = new JsonLines(System.out);
  private final AtomicLong processed = new AtomicLong();

  /** The version each order in hand was sent with, until its ack is printed. */
  private final Map<String, Integer> versions = new ConcurrentHashMap<>();

  public static void main(String[] args) {
    System.exit(new CommandLine(new OrdersWorker()).execute(args));
  }

  /** Starts the worker on {@code nc}: the library API as a Java service would use it. */
  Worker start(Connection nc) {
    return Sluice.using(nc)
        .worker(queue)
        .workerId(workerId)
        // The handler is written against the newest schema...
        .handle(OrderSchema.V2, this::handle)
        // ...and version-1 orders are upcast to it, so the worker advertises versions 1-2.
        .upcast(OrderSchema.TYPE, 1, OrderSchema::v1ToV2)
        .concurrency(concurrency)
        .prefetch(prefetch)
        .outcomeListener(
            new OutcomeListener() {
              @Override
              public void processed(Settled s) {
                Integer v = versions.remove(s.messageId());
                processed.incrementAndGet();
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("event", "processed");
                e.put("id", s.messageId());
                e.put("lang", "java");
                e.put("version", v == null ? 0 : v);
                out.emit(e);
              }

              @Override
              public void deadLettered(
                  Settled s, dev.sluice.DeadLetterReason reason, String error) {
                versions.remove(s.messageId());
              }
            })
        .start();
  }

  private void handle(Order order, dev.sluice.MessageContext ctx) throws InterruptedException {
    if (order.getCurrency().isEmpty()) {
      throw new IllegalStateException("order " + order.getOrderId() + " has no currency");
    }
    versions.put(ctx.messageId(), ctx.version());
    if (serviceMs > 0) {
      Thread.sleep(serviceMs); // the simulated work
    }
  }

  @Override
  public Integer call() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    Connection nc =
        Nats.connect(
            Options.builder()
                .server(server)
                .connectionName("orders-worker-" + workerId)
                .maxReconnects(-1)
                .errorListener(new QuietPullErrorListener())
                .build());
    Worker worker = start(nc);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  worker.close(); // finishes in-flight orders, mints owed credits
                  try {
                    nc.close();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  Map<String, Object> e = new LinkedHashMap<>();
                  e.put("event", "stopped");
                  e.put("processed", processed.get());
                  out.emit(e);
                  stopped.countDown();
                },
                "orders-worker-stop"));
    System.err.printf(
        "orders worker %s on %s: capacity %d, %d ms per order; SIGTERM to stop%n",
        workerId, queue, worker.advertisedCapacity(), serviceMs);
    stopped.await();
    return 0;
  }
}
