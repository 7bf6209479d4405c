package dev.sluice.samples.producer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.samples.orders.Orders;
import dev.sluice.samples.orders.SampleConnections;
import dev.sluice.samples.orders.v2.LineItem;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;

/**
 * Sends orders as fast as credits allow: it keeps many sends in flight, so it is faster than the
 * workers and the back-pressure is visible. Each send waits for a credit; the backlog never
 * outgrows what the workers advertise.
 *
 * <p>Run it on its own against a queue provisioned from {@code jetstream-config/}:
 *
 * <pre>
 * java -cp ... dev.sluice.samples.producer.OrderProducer --server nats://127.0.0.1:4222 --messages 1000
 * </pre>
 */
public final class OrderProducer {
  /**
   * What to send.
   *
   * @param messages how many orders
   * @param poisonRate share of orders that can never succeed (a line with quantity 0): the worker
   *     rejects them and they end in the dead-letter stream
   * @param v1Share share of orders sent with the old schema (v1), as a producer that was not yet
   *     upgraded would; workers upcast them to v2
   * @param maxInFlight sends waiting for a credit or a PubAck at once
   * @param seed for the random order contents (reproducible runs)
   */
  public record Settings(
      int messages, double poisonRate, double v1Share, int maxInFlight, long seed) {
    public static Settings defaults(int messages) {
      return new Settings(messages, 0.01, 0.2, 256, 42);
    }
  }

  /** Told about every send's outcome, on Sluice's threads. */
  public interface Listener {
    void stored(OutgoingMessage message, SendResult result);

    void failed(OutgoingMessage message, Throwable error);
  }

  private static final List<String> SKUS =
      List.of("SKU-1001", "SKU-1002", "SKU-1003", "SKU-2001", "SKU-2002", "SKU-3001");

  private final QueueProducer producer;
  private final Settings settings;
  private final Random random;

  public OrderProducer(QueueProducer producer, Settings settings) {
    this.producer = producer;
    this.settings = settings;
    this.random = new Random(settings.seed());
  }

  /**
   * The {@code i}-th order as a message. The order id is the message id ({@code Nats-Msg-Id}): a
   * re-sent order is dropped by the stream's duplicate window and never processed twice. Every
   * order starts a trace of its own ({@code traceparent}); the worker's span continues it.
   */
  public OutgoingMessage order(int i) {
    String orderId = String.format("ord-%08x-%06d", settings.seed(), i);
    boolean poison = random.nextDouble() < settings.poisonRate();
    int quantity = poison ? 0 : 1 + random.nextInt(3);
    String sku = SKUS.get(random.nextInt(SKUS.size()));
    long price = 199 + random.nextInt(5000);
    String customer = "cust-" + random.nextInt(500);
    OutgoingMessage.Builder b;
    if (random.nextDouble() < settings.v1Share()) {
      var v1 =
          dev.sluice.samples.orders.v1.Order.newBuilder()
              .setOrderId(orderId)
              .setCustomerId(customer)
              .setSku(sku)
              .setQuantity(quantity)
              .setUnitPriceCents(price)
              .setCreatedAtMs(System.currentTimeMillis())
              .build();
      b = OutgoingMessage.builder(Orders.TYPE, Orders.V1.version(), Orders.V1.encode(v1));
    } else {
      var v2 =
          dev.sluice.samples.orders.v2.Order.newBuilder()
              .setOrderId(orderId)
              .setCustomerId(customer)
              .addItems(
                  LineItem.newBuilder().setSku(sku).setQuantity(quantity).setUnitPriceMinor(price))
              .setCurrency("EUR")
              .setCreatedAtMs(System.currentTimeMillis())
              .build();
      b = OutgoingMessage.builder(Orders.TYPE, Orders.V2.version(), Orders.V2.encode(v2));
    }
    return b.messageId(orderId).traceparent(newTraceparent()).build();
  }

  /**
   * Sends every order, at most {@code maxInFlight} at a time, and returns when each send has
   * finished (stored or failed).
   */
  public void run(Listener listener) throws InterruptedException {
    Semaphore inFlight = new Semaphore(settings.maxInFlight());
    for (int i = 0; i < settings.messages(); i++) {
      inFlight.acquire(); // our own bound; the credits bound the queue
      OutgoingMessage m = order(i);
      producer
          .sendAsync(m)
          .whenComplete(
              (result, error) -> {
                try {
                  if (error == null) {
                    listener.stored(m, result);
                  } else {
                    listener.failed(m, error);
                  }
                } finally {
                  inFlight.release();
                }
              });
    }
    inFlight.acquire(settings.maxInFlight()); // wait for the last sends
    inFlight.release(settings.maxInFlight());
  }

  /** A W3C traceparent for a new trace: version 00, random trace and span ids, sampled. */
  private String newTraceparent() {
    return String.format(
        "00-%016x%016x-%016x-01", random.nextLong(), random.nextLong(), random.nextLong() | 1L);
  }

  /** Runs the sample: {@code OrderProducer [--server URL] [--messages N] [--poison-rate P]}. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new Command()).execute(args));
  }

  /** The sample's command line. */
  @CommandLine.Command(
      name = "order-producer",
      mixinStandardHelpOptions = true,
      description = "Sends orders to the orders queue as fast as credits allow.")
  static final class Command implements Callable<Integer> {
    @CommandLine.Option(
        names = "--server",
        defaultValue = "nats://127.0.0.1:4222",
        description = "NATS server URL (default: ${DEFAULT-VALUE})")
    String server;

    @CommandLine.Option(
        names = "--messages",
        defaultValue = "1000",
        description = "orders to send (default: ${DEFAULT-VALUE})")
    int messages;

    @CommandLine.Option(
        names = "--poison-rate",
        defaultValue = "0.01",
        description = "share of orders that can never succeed (default: ${DEFAULT-VALUE})")
    double poison;

    @CommandLine.Option(names = "--json", description = "print the summary as one JSON line")
    boolean json;

    @Override
    public Integer call() throws Exception {
      if (messages < 0 || poison < 0 || poison > 1) {
        throw new CommandLine.ParameterException(
            new CommandLine(this), "--messages must be >= 0 and --poison-rate in [0, 1]");
      }
      Settings settings = new Settings(messages, poison, 0.2, 256, System.nanoTime());
      AtomicLong stored = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      try (Connection nc = SampleConnections.connect(server, "order-producer");
          QueueProducer producer =
              Sluice.using(nc)
                  .producer(Orders.QUEUE)
                  .acquireTimeout(Duration.ofSeconds(60)) // workers may be slow: wait for credits
                  .build()) {
        long start = System.nanoTime();
        new OrderProducer(producer, settings)
            .run(
                new Listener() {
                  @Override
                  public void stored(OutgoingMessage message, SendResult result) {
                    stored.incrementAndGet();
                  }

                  @Override
                  public void failed(OutgoingMessage message, Throwable error) {
                    failed.incrementAndGet();
                    System.err.println("send " + message.messageId() + " failed: " + error);
                  }
                });
        double secs = (System.nanoTime() - start) / 1e9;
        if (json) {
          Map<String, Object> summary = new LinkedHashMap<>();
          summary.put("stored", stored.get());
          summary.put("failed", failed.get());
          summary.put("seconds", secs);
          System.out.println(new ObjectMapper().writeValueAsString(summary));
        } else {
          System.out.printf(
              Locale.ROOT,
              "stored %d orders (%d failed) in %.1f s, %.0f/s%n",
              stored.get(),
              failed.get(),
              secs,
              stored.get() / secs);
        }
      }
      return failed.get() == 0 ? 0 : 1;
    }
  }
}
