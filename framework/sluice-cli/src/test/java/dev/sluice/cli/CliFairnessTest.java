package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.codes;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Fairness keys (protocol §15.3) in {@code status}, {@code credits} and {@code explain}. */
class CliFairnessTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  static OutgoingMessage keyed(String key) {
    return OutgoingMessage.builder("test.Job", 1, key.getBytes()).fairnessKey(key).build();
  }

  @Test
  void keysWithTheirSharesAndTheKeyThatDominates() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      // No worker: 4 credits from the standing buffer, then every send waits.
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).tokenBatch(1).build());
      try (QueueProducer p =
          sluice
              .producer(q)
              .fairnessWeight("tenant-big", 3)
              .idleReturn(Duration.ofMinutes(1))
              .acquireTimeout(Duration.ofSeconds(30))
              .build()) {
        for (int i = 0; i < 40; i++) {
          p.sendAsync(keyed("tenant-big"));
        }
        // The 4 credits go to the first sends; then the small key's send waits too.
        await().atMost(Duration.ofSeconds(15)).until(() -> p.waiting() == 36);
        p.sendAsync(keyed("tenant-small"));
        await()
            .atMost(Duration.ofSeconds(15))
            .untilAsserted(
                () -> {
                  Run r = cli("credits", q, "--json");
                  assertThat(r.code()).as(r.err()).isZero();
                  JsonValue fair = r.queue().map.get("fairness");
                  assertThat(fair).as(r.out()).isNotNull();
                  assertThat(str(fair, "dominant")).isEqualTo("tenant-big");
                  JsonValue big = fair.map.get("keys").array.get(0);
                  assertThat(str(big, "key")).isEqualTo("tenant-big");
                  assertThat(num(big, "waiting")).isEqualTo(36);
                  assertThat(num(big, "granted_total")).isEqualTo(4);
                  assertThat(big.map.get("weights").array.get(0).number.intValue()).isEqualTo(3);
                  assertThat(num(fair, "waiting")).isEqualTo(37);
                });
        Run text = cli("credits", q);
        assertThat(text.out())
            .contains("FAIRNESS KEY")
            .contains("tenant-big")
            .contains("tenant-small")
            .contains("100.0%")
            .contains("holds 36 of 37 waiting sends");
        Run status = cli("status", q);
        assertThat(status.out())
            .contains(q + " fairness keys: tenant-big 100% of grants (weight 3, 36 waiting)")
            .contains("tenant-big dominates the waiting sends");
        assertThat(str(cli("status", q, "--json").queue().map.get("fairness"), "dominant"))
            .isEqualTo("tenant-big");
        Run explain = cli("explain", q, "--json");
        assertThat(codes(explain)).contains("fairness-dominant");
        assertThat(explain.out()).contains("raise the other keys' weights");
      }
    }
  }

  @Test
  void noKeysNoFairnessOutput() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(2).build());
      try (QueueProducer p = sluice.producer(q).idleReturn(Duration.ofMinutes(1)).build()) {
        p.send(OutgoingMessage.builder("test.Job", 1, new byte[1]).build());
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> cli("credits", q, "--json").queue().map.get("producers").array.size() == 1);
        assertThat(cli("credits", q, "--json").queue().map).doesNotContainKey("fairness");
        assertThat(cli("status", q).out()).doesNotContain("fairness keys");
        assertThat(cli("credits", q).out()).doesNotContain("FAIRNESS");
      }
    }
  }
}
