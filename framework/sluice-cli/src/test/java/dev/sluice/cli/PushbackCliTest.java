package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.codes;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.DownstreamOverloadedException;
import dev.sluice.OutgoingMessage;
import dev.sluice.PushbackPolicy;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A worker whose handlers push back (PROTOCOL.md §15.1) shows it in {@code workers}, {@code
 * status}, {@code credits} and {@code explain}: "capacity lowered by pushback to 1 of 8", per
 * worker and summed for the queue, and the same in the JSON the console reads.
 */
class PushbackCliTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  static CliHarness.Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void everyCommandShowsTheCapacityLoweredByPushback() throws Exception {
    String q = NATS.uniqueName("q");
    AtomicBoolean overloaded = new AtomicBoolean(true);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (Worker w =
              sluice
                  .worker(q)
                  .workerId("w-pushed")
                  .concurrency(4)
                  .prefetch(4)
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofSeconds(1))
                  .pushback(
                      PushbackPolicy.builder().decreaseInterval(Duration.ofMillis(100)).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        if (overloaded.get()) {
                          throw new DownstreamOverloadedException("429", Duration.ofMillis(200));
                        }
                      })
                  .start();
          Worker other =
              sluice
                  .worker(q)
                  .workerId("w-calm")
                  .concurrency(2)
                  .prefetch(2)
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofSeconds(1))
                  .handle(Codec.utf8("test.Other", 1), (s, ctx) -> {})
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        p.send(OutgoingMessage.of(JOB, "m"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> sluice.inspect(q).workers().stream().anyMatch(a -> a.capacity() == 1));

        JsonValue wj =
            cli("workers", q, "--json").json().map.get("workers").array.stream()
                .filter(a -> "w-pushed".equals(str(a, "worker_id")))
                .findFirst()
                .orElseThrow();
        assertThat(num(wj, "capacity")).isEqualTo(1);
        assertThat(num(wj, "nominal_capacity")).isEqualTo(8);
        assertThat(wj.map.get("lowered_by_pushback").bool).isTrue();
        assertThat(num(wj, "pushbacks_total")).isPositive();
        assertThat(cli("workers", q).out()).contains("1 of 8 (pushback)");

        JsonValue status = cli("status", q, "--json").queue();
        JsonValue pb = status.map.get("pushback");
        assertThat(num(pb, "capacity")).isEqualTo(5);
        assertThat(num(pb, "nominal_capacity")).isEqualTo(12);
        assertThat(num(pb, "lowered_workers")).isEqualTo(1);
        assertThat(str(pb, "text"))
            .isEqualTo("capacity lowered by pushback to 5 of 12 (1 of 2 workers)");
        assertThat(cli("status", q).out())
            .contains("queue " + q + ": capacity lowered by pushback to 5 of 12");
        assertThat(cli("credits", q).out()).contains("capacity lowered by pushback to 5 of 12");

        CliHarness.Run explain = cli("explain", q, "--json");
        assertThat(codes(explain)).contains("pushback");

        overloaded.set(false);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> isNull(cli("status", q, "--json").queue().map.get("pushback")));
        assertThat(codes(cli("explain", q, "--json"))).doesNotContain("pushback");
        assertThat(w.deadLetteredCount()).isZero();
        assertThat(w.processedCount()).isEqualTo(1);
      }
    }
  }

  private static boolean isNull(JsonValue v) {
    return v == null || v.type == JsonValue.Type.NULL;
  }
}
