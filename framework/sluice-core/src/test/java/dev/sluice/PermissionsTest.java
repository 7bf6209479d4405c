package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Options;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A worker whose user may not pull says so within seconds, instead of idling silently. */
class PermissionsTest {
  @RegisterExtension
  static final NatsServerExtension NATS =
      NatsServerExtension.withConfig(
          "authorization {",
          "  users = [",
          "    { user: admin, password: admin }",
          "    { user: worker, password: worker,",
          "      permissions: { publish: { allow: \">\", deny: \"$JS.API.CONSUMER.MSG.NEXT.>\" },",
          "                     subscribe: \">\" } }",
          "  ]",
          "}");

  @Test
  void workerDeniedPullsReportsPermissionDenied() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection admin =
            NATS.server().connect(new Options.Builder().userInfo("admin", "admin"));
        Connection limited =
            NATS.server().connect(new Options.Builder().userInfo("worker", "worker"))) {
      Sluice.using(admin).provision(QueueSpec.of(q));
      Queues.rawPublish(admin, q, Queues.goodHeaders(1), "x".getBytes());
      try (Worker w =
          Sluice.using(limited)
              .worker(q)
              .handle(Codec.utf8(Queues.TYPE, 1), (s, c) -> {})
              .noReconciler()
              .start()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail())
            .startsWith("permission denied")
            .contains("$JS.API.CONSUMER.MSG.NEXT.SLUICE_Q_" + q);
        assertThat(w.advertisedCapacity()).isZero();
        assertThat(w.processedCount()).isZero();
      }
      // The message is untouched, waiting for a worker that may pull it.
      assertThat(Queues.backlog(admin, q)).isEqualTo(1);
    }
  }
}
