package dev.sluice.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.Backoff;
import dev.sluice.CreditTimeoutException;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.Health;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueInspection;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.QuietPullErrorListener;
import dev.sluice.ReconcilerLease;
import dev.sluice.RejectMessageException;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.jackson.JsonCodec;
import dev.sluice.samples.orders.v2.LineItem;
import dev.sluice.samples.orders.v2.Order;
import dev.sluice.samples.worker.OrderUpcaster;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's tour, run as written: every line of its Java block must appear, in order, in this
 * file (so the tour compiles), and the code below runs it against a real nats-server (so it works).
 * A README that drifts from the API fails here instead of in a new user's editor.
 */
class ReadmeTourTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static final Set<String> SHIPPED = ConcurrentHashMap.newKeySet();

  private static void ship(Order order) {
    SHIPPED.add(order.getOrderId());
  }

  @Test
  @Timeout(120)
  void theTourRunsAsWritten() throws Exception {
    String NATS_URL = NATS.server().url();
    // spotless:off (the README quotes these lines)
    Connection nc = Nats.connect(Options.builder().server(NATS_URL)
        .errorListener(new QuietPullErrorListener())   // jnats' logging, minus expired-pull 408s
        .build());
    Sluice sluice = Sluice.using(nc);

    // 1. Provision the queue's topology once (idempotent): work stream, worker consumer, credit
    //    stream and consumer, KV buckets for adverts and processed ids, dead-letter stream.
    sluice.provision(QueueSpec.builder("orders").hardLimit(100_000).standingBuffer(0).build());

    // 2. A worker: typed handlers by payload type and schema version.
    Codec<Order> ORDER_V2 = Codec.protobuf("acme.Order", 2, Order.parser());
    Worker worker = sluice.worker("orders")
        .handle(ORDER_V2, (order, ctx) -> {
          if (order.getItemsCount() == 0) throw new RejectMessageException("empty order"); // dead-letter now
          ship(order);                            // any other exception: retried with back-off
        })
        .upcast("acme.Order", 1, OrderUpcaster::v1ToV2)   // v1 messages reach the v2 handler
        .concurrency(8).prefetch(8)                       // advertises capacity 16
        .backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(1), 0.2))
        .deadLetter(DeadLetterPolicy.builder().maxAttempts(5).build())
        .sharedIdempotency()                              // KV store shared by the fleet
        .start();

    // 3. A producer: every send spends one credit; it waits (off your thread) when there is none.
    Order order = Order.newBuilder().setOrderId("ord-1")
        .addItems(LineItem.newBuilder().setSku("SKU-1").setQuantity(2)).build();
    try (QueueProducer producer = sluice.producer("orders").acquireTimeout(Duration.ofSeconds(30)).build()) {
      SendResult r = producer.send(OutgoingMessage.of(ORDER_V2, order));   // blocks for credit + PubAck
      CompletableFuture<SendResult> f = producer.sendAsync(OutgoingMessage.of(ORDER_V2, order));
      Optional<SendResult> maybe = producer.trySend(OutgoingMessage.of(ORDER_V2, order), Duration.ofMillis(50));
      f.join();
    } catch (CreditTimeoutException e) {
      // e.reason(): NO_LIVE_WORKERS, ALL_CREDITS_IN_USE or STREAM_AT_HARD_LIMIT, with what to do next
    }

    // 4. Look at the queue: window, backlog, credits, workers and producers, the last audit.
    QueueInspection q = sluice.inspect("orders");
    System.out.printf("window %d, backlog %d, %d live workers%n", q.window(), q.backlog(), q.liveWorkers().size());

    await().atMost(Duration.ofSeconds(60)).until(() -> SHIPPED.contains("ord-1"));
    readModel(sluice);
    Health health = worker.health();   // for readiness/liveness endpoints
    worker.close();    // stop pulling, finish or NAK in-flight work, mint owed credits, withdraw advert
    nc.close();
    // spotless:on

    // The same order was sent as two or three messages; each ran the handler (ids differ per
    // message, the order id is the payload's): the tour's worker really shipped it.
    assertThat(SHIPPED).containsExactly("ord-1");
    assertThat(q.window()).as("one worker advertising concurrency + prefetch").isEqualTo(16);
    assertThat(health.state()).isEqualTo(Health.State.RUNNING);
  }

  @Test
  void everyLineOfTheReadmeTourIsInThisTest() throws Exception {
    List<String> readme = javaBlockAfter(Path.of("../README.md"), "## A five-minute tour");
    List<String> here =
        Files.readAllLines(
                Path.of("src/test/java/dev/sluice/samples/ReadmeTourTest.java"),
                StandardCharsets.UTF_8)
            .stream()
            .map(String::strip)
            .toList();
    // Were a README line missing here, the README would show code that was never compiled.
    int at = 0;
    for (String line : readme) {
      int found = here.subList(at, here.size()).indexOf(line);
      assertThat(found)
          .as("README tour line not found (in order) in this test: %s", line)
          .isNotNegative();
      at += found + 1;
    }
    assertThat(readme).as("the tour block").hasSizeGreaterThan(30);
  }

  private static final Set<String> PAID = ConcurrentHashMap.newKeySet();

  /** The README's JSON block ("JSON payloads"), run as written, then fed a malformed payload. */
  @Test
  @Timeout(120)
  void theJsonBlockRunsAsWritten() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      // spotless:off (the README quotes these lines)
      Codec<Refund> REFUND = JsonCodec.of("acme.Refund", 1, Refund.class);   // application/json
      sluice.provision(QueueSpec.of("refunds"));
      Worker refunds = sluice.worker("refunds").handle(REFUND, (refund, ctx) -> pay(refund)).start();
      try (QueueProducer producer = sluice.producer("refunds").build()) {
        producer.send(OutgoingMessage.of(REFUND, new Refund("ord-1", 1250)));
      }
      // spotless:on
      await().atMost(Duration.ofSeconds(30)).until(() -> PAID.contains("ord-1 1250"));

      // The error the README quotes: a string where the record has a long.
      try (QueueProducer producer = sluice.producer("refunds").build()) {
        byte[] bad = "{\"orderId\":\"ord-2\",\"cents\":\"lots\"}".getBytes(StandardCharsets.UTF_8);
        producer.send(
            OutgoingMessage.builder("acme.Refund", 1, bad).contentType("application/json").build());
      }
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> sluice.deadLetters().count("refunds") == 1);
      DeadLetterRecord record = sluice.deadLetters().list("refunds", 1).get(0);
      assertThat(record.reason()).contains(DeadLetterReason.DECODE_ERROR);
      assertThat(record.error())
          .hasValueSatisfying(
              e ->
                  assertThat(e)
                      .contains("acme.Refund v1 (")
                      .contains(
                          "Cannot deserialize value of type `long` from String \"lots\": not a valid `long` value")
                      .contains("at $.cents (line 1, column 28)"));
      refunds.close();
    }
  }

  // spotless:off (the README quotes this line)
  record Refund(String orderId, long cents) {}
  // spotless:on

  private static void pay(Refund refund) {
    PAID.add(refund.orderId() + " " + refund.cents());
  }

  @Test
  void everyLineOfTheReadmeJsonBlockIsInThisTest() throws Exception {
    List<String> readme = javaBlockAfter(Path.of("../README.md"), "## JSON payloads");
    List<String> here =
        Files.readAllLines(
                Path.of("src/test/java/dev/sluice/samples/ReadmeTourTest.java"),
                StandardCharsets.UTF_8)
            .stream()
            .map(String::strip)
            .toList();
    List<String> code = readme.stream().filter(l -> !l.startsWith("//")).toList();
    assertThat(here).as("README JSON block lines").containsAll(code);
  }

  /** The README's read-model block ("Operating queues"), run as written. */
  private static void readModel(Sluice sluice) {
    // spotless:off (the README quotes these lines)
    QueueInspection q = sluice.inspect("orders");  // QueueNotFoundException if it does not exist
    q.window(); q.backlog(); q.tokens(); q.deficit();  // the credit terms W, B, T (PROTOCOL.md §5)
    q.liveWorkers();                                   // adverts: state, capacity, handled types
    q.reconciler().flatMap(ReconcilerLease::lastAudit); // the reconciler's last ledger
    sluice.peek("orders", 0, 10);                      // stored messages, not consumed
    sluice.deadLetters().list("orders", 100);          // then replay(record) or purge("orders")
    // spotless:on
    assertThat(q.liveWorkers()).hasSize(1);
  }

  @Test
  void everyLineOfTheReadmeReadModelBlockIsInThisTest() throws Exception {
    List<String> readme = javaBlockAfter(Path.of("../README.md"), "## Operating queues");
    List<String> here =
        Files.readAllLines(
                Path.of("src/test/java/dev/sluice/samples/ReadmeTourTest.java"),
                StandardCharsets.UTF_8)
            .stream()
            .map(String::strip)
            .toList();
    assertThat(here).as("README read-model block lines").containsAll(readme);
  }

  /** The stripped, non-blank lines of the first {@code ```java} block after {@code heading}. */
  static List<String> javaBlockAfter(Path file, String heading) throws Exception {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    int i = lines.indexOf(heading);
    assertThat(i).as("heading %s in %s", heading, file).isNotNegative();
    while (!lines.get(i).equals("```java")) {
      i++;
    }
    List<String> out = new ArrayList<>();
    for (i++; !lines.get(i).equals("```"); i++) {
      String s = lines.get(i).strip();
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }
}
