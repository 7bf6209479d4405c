package dev.sluice.samples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import dev.sluice.spring.SluiceHealthIndicator;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.actuate.health.Status;
import org.springframework.context.ConfigurableApplicationContext;

/** The sample application, started as its jar starts it, against a real nats-server. */
class SpringSampleTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  @Timeout(120)
  void sendsToItselfAndAccountsForEveryOrder() throws Exception {
    ConfigurableApplicationContext context =
        SpringApplication.run(
            SpringSample.class,
            "--sluice.server=" + NATS.server().url(),
            "--sample.messages=50",
            "--sample.timeout=60s");
    try {
      Summary summary = context.getBean(SelfTest.class).summary();
      assertThat(summary).isEqualTo(new Summary(50, 50, 0));
      assertThat(summary.toJson()).isEqualTo("{\"sent\": 50, \"processed\": 50, \"lost\": 0}");
      assertThat(context.getBean(SluiceHealthIndicator.class).health().getStatus())
          .isEqualTo(Status.UP);
    } finally {
      SpringApplication.exit(context);
    }
    // The context's close stopped the worker: its advert is gone and nothing is left queued.
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      assertThat(sluice.inspect("spring-orders").liveWorkers()).isEmpty();
      assertThat(sluice.backlog("spring-orders")).isZero();
    }
  }
}
