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
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rate-limited queue (PROTOCOL.md §15.2) shows its limit in {@code status}, {@code credits} and
 * {@code explain}, and {@code explain} says when the rate is what producers wait for.
 */
class RateLimitCliTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  static CliHarness.Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void explainNamesAWorkerThatReplenishesWithoutTheLimit() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).rateLimit(100, 40).build());
      // The advert of a worker of protocol revision 1.2: it has no rate_limited field (§15.2).
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      com.google.protobuf.CodedOutputStream out =
          com.google.protobuf.CodedOutputStream.newInstance(bytes);
      out.writeString(1, "old-go-1"); // worker_id
      out.writeString(2, q); // queue
      out.writeUInt32(3, 1); // protocol_version
      out.writeUInt32(4, 8); // capacity
      out.writeInt64(8, System.currentTimeMillis()); // heartbeat_unix_ms
      out.writeUInt32(9, 60_000); // ttl_ms
      out.writeEnum(10, 1); // state RUNNING
      out.writeString(12, "go"); // language
      out.flush();
      nc.keyValue("sluice-capacity").put(q + ".old-go-1", bytes.toByteArray());
      CliHarness.Run explain = cli("explain", q, "--json");
      assertThat(codes(explain)).contains("rate-unlimited-workers");
      assertThat(cli("explain", q).out())
          .contains(
              "rate-limited at 100/s (burst 40) but 1 live worker(s) do not mint within the rate")
          .contains("old-go-1")
          .contains("upgrade those workers");
      assertThat(cli("status", q).out()).contains("1 worker(s) replenish without the limit");
    }
  }

  @Test
  void statusCreditsAndExplainShowTheRateAndWhenItIsTheBottleneck() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).rateLimit(20, 10).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofSeconds(1))
                  .reconciler(Duration.ofMillis(300))
                  .handle(JOB, (s, ctx) -> {})
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(60)).build()) {
        List<CompletableFuture<?>> sends = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          sends.add(p.sendAsync(OutgoingMessage.of(JOB, "m" + i)));
        }
        assertThat(cli("status", q).out()).contains(q + ": rate-limited at 20/s (burst 10)");
        JsonValue rate = cli("status", q, "--json").queue().map.get("rate_limit");
        assertThat(num(rate, "burst")).isEqualTo(10);
        assertThat(str(rate, "text")).isEqualTo("rate-limited at 20/s (burst 10)");
        assertThat(cli("credits", q).out()).contains("rate-limited at 20/s (burst 10)");
        JsonValue credits = cli("credits", q, "--json").json().map.get("queues").array.get(0);
        assertThat(num(credits.map.get("rate_limit"), "window"))
            .isEqualTo(8); // 10 - (ceil(20 x 0.05) + 1 worker)
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> assertThat(codes(cli("explain", q, "--json"))).contains("rate-limited"));
        String explain = cli("explain", q).out();
        assertThat(explain)
            .contains("the rate is the bottleneck: rate-limited at 20/s (burst 10)")
            .contains("raise rate_per_second");
        sluice.provision(QueueSpec.of(q)); // removed: everything left goes at once
        CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new))
            .get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(cli("status", q).out()).doesNotContain("rate-limited");
        JsonValue none = cli("status", q, "--json").queue().map.get("rate_limit");
        assertThat(none == null || none.type == JsonValue.Type.NULL).as("no rate_limit").isTrue();
        assertThat(w.workerId()).isNotEmpty();
      }
    }
  }
}
