package dev.sluice.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.Health;
import dev.sluice.MessageContext;
import dev.sluice.QueueInspection;
import dev.sluice.RejectMessageException;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The starter as an application uses it, against a real nats-server. */
class SluiceAutoConfigurationTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @SluicePayload(type = "acme.Order", version = 2)
  record Order(String orderId, int quantity) {}

  /** An application bean with listener methods. */
  static class Shipping {
    final List<Order> shipped = new CopyOnWriteArrayList<>();
    final List<String> notes = new CopyOnWriteArrayList<>();
    final List<String> wireTypes = new CopyOnWriteArrayList<>();

    @SluiceListener(queue = "${test.queue}", concurrency = 2, prefetch = 2)
    void ship(Order order, MessageContext ctx) {
      if (order.quantity() < 1) {
        throw new RejectMessageException("quantity " + order.quantity() + " < 1");
      }
      wireTypes.add(ctx.type() + "@" + ctx.version());
      shipped.add(order);
    }

    @SluiceListener(queue = "${test.queue}")
    void note(String note) {
      notes.add(note);
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class App {
    @Bean
    Shipping shipping() {
      return new Shipping();
    }

    /** Strings travel as UTF-8 text of type acme.Note: a codec bean wins over JSON. */
    @Bean
    Codec<String> noteCodec() {
      return Codec.utf8("acme.Note", 1);
    }

    @Bean
    MeterRegistry meterRegistry() {
      return new SimpleMeterRegistry();
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class NoRegistryApp {
    @Bean
    Shipping shipping() {
      return new Shipping();
    }

    @Bean
    Codec<String> noteCodec() {
      return Codec.utf8("acme.Note", 1);
    }
  }

  private ApplicationContextRunner runner(String queue) {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withUserConfiguration(App.class)
        .withPropertyValues(
            "sluice.server=" + NATS.server().url(),
            "sluice.queues." + queue + ".hard-limit=1000",
            "sluice.listener.shutdown-grace=5s",
            "test.queue=" + queue);
  }

  @Test
  @Timeout(90)
  void listenersReceiveWhatTheTemplateSendsAndReportHealthAndMetrics() {
    String queue = NATS.uniqueName("orders");
    runner(queue)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              SluiceTemplate template = ctx.getBean(SluiceTemplate.class);
              Shipping shipping = ctx.getBean(Shipping.class);

              template.send(queue, new Order("ord-1", 2));
              template.send(queue, "fragile");
              template.send(queue, new Order("ord-2", 0));

              await()
                  .atMost(Duration.ofSeconds(30))
                  .until(() -> shipping.shipped.size() == 1 && shipping.notes.size() == 1);
              assertThat(shipping.shipped).containsExactly(new Order("ord-1", 2));
              assertThat(shipping.wireTypes).containsExactly("acme.Order@2");
              assertThat(shipping.notes).containsExactly("fragile");

              Sluice sluice = ctx.getBean(Sluice.class);
              await()
                  .atMost(Duration.ofSeconds(30))
                  .until(() -> sluice.deadLetters().count(queue) == 1);
              assertThat(sluice.deadLetters().list(queue, 10).get(0).error())
                  .hasValueSatisfying(e -> assertThat(e).contains("quantity 0 < 1"));

              // One worker for both methods, with the annotation's settings: capacity 2 + 2.
              Worker worker = ctx.getBean(SluiceListenerContainer.class).workers().get(queue);
              assertThat(worker.advertisedCapacity()).isEqualTo(4);

              SluiceHealthIndicator indicator = ctx.getBean(SluiceHealthIndicator.class);
              await()
                  .atMost(Duration.ofSeconds(10))
                  .until(() -> indicator.health().getStatus().equals(Status.UP));
              var health = indicator.health();
              assertThat(health.getDetails()).containsEntry("connection", "CONNECTED");
              assertThat(health.getDetails().get("workers").toString())
                  .contains(queue)
                  .contains("state=RUNNING")
                  .contains("processed=2")
                  .contains("deadLettered=1");
              assertThat(health.getDetails().get("producers").toString()).contains("sent=3");

              MeterRegistry registry = ctx.getBean(MeterRegistry.class);
              assertThat(registry.find("sluice.worker.processed").tag("queue", queue).counters())
                  .isNotEmpty();
              assertThat(registry.find("sluice.worker.processed").tag("queue", queue).counter())
                  .satisfies(c -> assertThat(c.count()).isEqualTo(2.0));
              assertThat(registry.find("sluice.producer.waiting").tag("queue", queue).gauge())
                  .isNotNull();
            });
  }

  @Test
  @Timeout(90)
  void closingTheContextDrainsTheWorkerAndWithdrawsItsAdvert() throws Exception {
    String queue = NATS.uniqueName("orders");
    Worker[] seen = new Worker[1];
    runner(queue)
        .run(
            ctx -> {
              seen[0] = ctx.getBean(SluiceListenerContainer.class).workers().get(queue);
              try (Connection nc = NATS.server().connect()) {
                await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> Sluice.using(nc).inspect(queue).liveWorkers().size() == 1);
              }
            });
    // The runner closed the context: the lifecycle stopped the worker before the connection.
    assertThat(seen[0].health().state()).isEqualTo(Health.State.STOPPED);
    try (Connection nc = NATS.server().connect()) {
      QueueInspection q = Sluice.using(nc).inspect(queue);
      assertThat(q.liveWorkers()).isEmpty();
    }
  }

  @Test
  void healthIsDownOnceTheConnectionIsClosed() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=" + NATS.server().url())
        .run(
            ctx -> {
              SluiceHealthIndicator indicator = ctx.getBean(SluiceHealthIndicator.class);
              assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
              ctx.getBean(Connection.class).close();
              var health = indicator.health();
              assertThat(health.getStatus()).isEqualTo(Status.DOWN);
              assertThat(health.getDetails()).containsEntry("connection", "CLOSED");
            });
  }

  @Test
  void withoutActuatorOrMicrometerItStillRuns() {
    String queue = NATS.uniqueName("orders");
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withUserConfiguration(NoRegistryApp.class)
        .withPropertyValues(
            "sluice.server=" + NATS.server().url(),
            "sluice.queues." + queue + ".hard-limit=1000",
            "test.queue=" + queue)
        .withClassLoader(new FilteredClassLoader(HealthIndicator.class, MeterRegistry.class))
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed().doesNotHaveBean(SluiceHealthIndicator.class);
              assertThat(ctx).doesNotHaveBean(WorkerCustomizer.class);
              ctx.getBean(SluiceTemplate.class).send(queue, "plain");
              Shipping shipping = ctx.getBean(Shipping.class);
              await().atMost(Duration.ofSeconds(30)).until(() -> shipping.notes.size() == 1);
            });
  }

  @Test
  void aListenerWithAWrongSignatureFailsTheStartNamingTheMethod() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withBean(Wrong.class)
        .withPropertyValues("sluice.server=" + NATS.server().url())
        .run(
            ctx ->
                assertThat(ctx)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining(Wrong.class.getName() + ".twoPayloads(..)")
                    .hasMessageContaining("must take (Payload) or (Payload, MessageContext)"));
  }

  static class Wrong {
    @SluiceListener(queue = "anything")
    void twoPayloads(String a, String b) {}
  }

  @Test
  void anUnreachableServerFailsTheStartSayingWhatToSet() {
    int port = dev.sluice.testkit.NatsServer.freePort();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=nats://127.0.0.1:" + port, "sluice.timeout=1s")
        .run(
            ctx ->
                assertThat(ctx)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("nats://127.0.0.1:" + port));
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=nats://127.0.0.1:" + port, "sluice.timeout=1s")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("is nats-server running there? Set sluice.server"));
  }

  @Test
  void withoutListenersOrQueuesItOnlyConnects() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=" + NATS.server().url())
        .run(
            ctx -> {
              assertThat(ctx).hasSingleBean(Sluice.class).hasSingleBean(SluiceTemplate.class);
              assertThat(ctx.getBean(SluiceListenerContainer.class).workers()).isEmpty();
              assertThat(ctx.getBean(Connection.class).getStatus())
                  .isEqualTo(Connection.Status.CONNECTED);
            });
  }
}
