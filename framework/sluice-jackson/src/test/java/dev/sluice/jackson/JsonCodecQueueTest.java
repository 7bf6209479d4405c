package dev.sluice.jackson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** JSON payloads through a real queue: a record round trip, and malformed JSON dead-lettered. */
class JsonCodecQueueTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  record Line(String sku, int quantity) {}

  record Order(String orderId, List<Line> items) {}

  static final Codec<Order> ORDER = JsonCodec.of("acme.Order", 1, Order.class);

  @Test
  @Timeout(60)
  void aRecordTravelsAsJsonAndArrivesEqual() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String queue = NATS.uniqueName("orders");
      sluice.provision(QueueSpec.of(queue));
      List<Order> received = new CopyOnWriteArrayList<>();
      List<String> contentTypes = new CopyOnWriteArrayList<>();
      try (Worker worker =
              sluice
                  .worker(queue)
                  .handle(
                      ORDER,
                      (order, ctx) -> {
                        contentTypes.add(ctx.headers().get("Content-Type"));
                        received.add(order);
                      })
                  .start();
          QueueProducer producer = sluice.producer(queue).build()) {
        Order sent = new Order("ord-1", List.of(new Line("SKU-1", 2), new Line("SKU-2", 1)));
        producer.send(OutgoingMessage.of(ORDER, sent));

        await().atMost(Duration.ofSeconds(20)).until(() -> received.size() == 1);
        assertThat(received).containsExactly(sent);
        assertThat(contentTypes).containsExactly("application/json");
        assertThat(worker.processedCount()).isEqualTo(1);
      }
    }
  }

  @Test
  @Timeout(60)
  void malformedJsonIsDeadLetteredAsDecodeErrorNamingWhatFailed() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      String queue = NATS.uniqueName("orders");
      sluice.provision(QueueSpec.of(queue));
      List<Order> received = new CopyOnWriteArrayList<>();
      try (Worker worker = sluice.worker(queue).handle(ORDER, (o, ctx) -> received.add(o)).start();
          QueueProducer producer = sluice.producer(queue).build()) {
        // A producer with a bug: "quantity" is a string, and the object is never closed.
        byte[] wrongShape =
            "{\"orderId\":\"ord-2\",\"items\":[{\"sku\":\"S\",\"quantity\":\"two\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] truncated = "{\"orderId\":\"ord-3\",\"items\":[".getBytes(StandardCharsets.UTF_8);
        producer.send(json(wrongShape));
        producer.send(json(truncated));

        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> sluice.deadLetters().list(queue, 10).size() == 2);
        List<DeadLetterRecord> records = sluice.deadLetters().list(queue, 10);
        assertThat(records)
            .allSatisfy(r -> assertThat(r.reason()).contains(DeadLetterReason.DECODE_ERROR))
            .allSatisfy(r -> assertThat(r.attempts()).hasValue(1));
        assertThat(records)
            .extracting(r -> r.error().orElse(""))
            .allSatisfy(e -> assertThat(e).contains("acme.Order v1").doesNotContain("Source"))
            .anySatisfy(e -> assertThat(e).contains("$.items[0].quantity").contains("\"two\""))
            .anySatisfy(e -> assertThat(e).contains("end-of-input").contains("at $.items"));
        assertThat(received).isEmpty();
        assertThat(worker.deadLetteredCount()).isEqualTo(2);
      }
    }
  }

  private static OutgoingMessage json(byte[] bytes) {
    return OutgoingMessage.builder(ORDER.type(), ORDER.version(), bytes)
        .contentType(JsonCodec.CONTENT_TYPE)
        .build();
  }
}
