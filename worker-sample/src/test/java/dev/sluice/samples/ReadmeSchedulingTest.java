package dev.sluice.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.ScheduledSend;
import dev.sluice.Scheduler;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.samples.orders.v2.LineItem;
import dev.sluice.samples.orders.v2.Order;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's "Scheduled sends" block, run as written against a real nats-server. */
class ReadmeSchedulingTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  @Timeout(120)
  void theSchedulingBlockRunsAsWritten() throws Exception {
    Set<String> handled = ConcurrentHashMap.newKeySet();
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of("orders"));
      Codec<Order> ORDER_V2 = Codec.protobuf("acme.Order", 2, Order.parser());
      Order order =
          Order.newBuilder()
              .setOrderId("ord-1")
              .addItems(LineItem.newBuilder().setSku("SKU-1").setQuantity(2))
              .build();
      try (Worker worker =
          sluice
              .worker("orders")
              .handle(ORDER_V2, (o, ctx) -> handled.add(ctx.messageId()))
              .start()) {
        // spotless:off (the README quotes these lines)
        Scheduler scheduler = sluice.scheduler("orders").start();   // in one or more long-running processes
        try (QueueProducer producer = sluice.producer("orders").build()) {
          ScheduledSend soon = producer.sendAfter(OutgoingMessage.of(ORDER_V2, order), Duration.ofSeconds(1));   // no credit until due
          ScheduledSend later = producer.sendAt(OutgoingMessage.of(ORDER_V2, order), Instant.now().plusSeconds(3600));
          producer.schedule("nightly-orders", "0 2 * * *", ZoneId.of("Europe/Paris"), OutgoingMessage.of(ORDER_V2, order));
          boolean cancelled = producer.cancel(later.messageId());   // true: it had not fired yet
          // spotless:on

          // Were scheduling broken, the one-second message would never reach the handler, or the
          // cancelled one would have fired (cancel would answer false).
          assertThat(cancelled).isTrue();
          await().atMost(Duration.ofSeconds(60)).until(() -> handled.contains(soon.messageId()));
          assertThat(handled).doesNotContain(later.messageId());
          assertThat(sluice.schedules("orders").count())
              .as("the nightly schedule is stored; the cancelled one is gone")
              .isEqualTo(1);
        } finally {
          scheduler.close();
        }
      }
    }
  }

  @Test
  void everyLineOfTheReadmeSchedulingBlockIsInThisTest() throws Exception {
    List<String> readme =
        ReadmeTourTest.javaBlockAfter(Path.of("../README.md"), "## Scheduled sends");
    String here =
        Files.readString(Path.of("src/test/java/dev/sluice/samples/ReadmeSchedulingTest.java"));
    for (String line : readme) {
      assertThat(here).as("README scheduling line missing from this test").contains(line);
    }
  }
}
