package dev.sluice.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.NatsServerExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Runs the demo in-process against a real nats-server and checks that it accounts for all. */
class DemoTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  @Timeout(90)
  void everyOrderIsProcessedOnceOrDeadLetteredAndTheBacklogStaysBounded() throws Exception {
    DemoOptions options =
        DemoOptions.parse(
            "--server", NATS.server().url(),
            "--config", "../jetstream-config",
            "--messages", "1500",
            "--workers", "3",
            "--fail-rate", "0.1",
            "--poison-rate", "0.02",
            "--work-ms", "4",
            "--progress", "off",
            "--drain-timeout", "40");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    DemoSummary s = new Demo(options, new PrintStream(err, true, StandardCharsets.UTF_8)).run();

    assertThat(s.produced()).as("produced").isEqualTo(1500);
    assertThat(s.lost()).as("lost; summary %s", s.toJson()).isZero();
    assertThat(s.processed() + s.deadLettered()).isEqualTo(s.produced());
    assertThat(s.duplicatesProcessed()).as("processed twice").isZero();
    assertThat(s.retried()).as("transient failures were retried").isPositive();
    assertThat(s.deadLettered()).as("poison orders were dead-lettered").isPositive();
    assertThat(s.upcastV1()).as("v1 orders were upcast").isPositive();
    assertThat(s.window()).isEqualTo(3 * (4 + 28));
    assertThat(s.slack()).isEqualTo(3 * (32 - 1));
    assertThat(s.maxBacklog()).as("backlog bound").isLessThanOrEqualTo(s.window() + s.slack());
    assertThat(s.e2eP50Ms()).isPositive();
    assertThat(s.toJson())
        .startsWith("{\"produced\":1500,")
        .contains("\"lost\":0", "\"duplicates_processed\":0", "\"e2e_p99_ms\":");
  }
}
