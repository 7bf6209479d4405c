package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Options;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A worker whose user may not pull says so within seconds, instead of idling silently, and resumes
 * by itself when the permission returns.
 */
class PermissionsTest {
  private static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  /**
   * {@code worker} may never pull; {@code mover} may pull only when {@code moverMayPull} (changed
   * by a configuration reload).
   */
  private static List<String> users(boolean moverMayPull) {
    return List.of(
        "authorization {",
        "  users = [",
        "    { user: admin, password: admin }",
        "    { user: worker, password: worker,",
        "      permissions: { publish: { allow: \">\", deny: \"$JS.API.CONSUMER.MSG.NEXT.>\" },",
        "                     subscribe: \">\" } }",
        "    { user: mover, password: mover,",
        "      permissions: { publish: { allow: \">\""
            + (moverMayPull ? "" : ", deny: \"$JS.API.CONSUMER.MSG.NEXT.>\"")
            + " },",
        "                     subscribe: \">\" } }",
        "  ]",
        "}");
  }

  @RegisterExtension
  static final NatsServerExtension NATS =
      NatsServerExtension.withConfig(users(true).toArray(new String[0]));

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
          Sluice.using(limited).worker(q).handle(JOB, (s, c) -> {}).noReconciler().start()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail())
            .startsWith("permission denied")
            .contains("$JS.API.CONSUMER.MSG.NEXT.SLUICE_Q_" + q);
        assertThat(w.advertisedCapacity()).isZero();
        assertThat(w.processedCount()).isZero();
        // The advert names the refusal (§5.2), for tools that read only adverts.
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    Sluice.using(admin).inspect(q).workers().stream()
                        .anyMatch(a -> a.problem().startsWith("pull-denied: permission denied")));
      }
      // The message is untouched, waiting for a worker that may pull it.
      assertThat(Queues.backlog(admin, q)).isEqualTo(1);
    }
  }

  /**
   * A worker that reported FAILING advertised capacity 0, so no credit was minted and no message
   * came; it cleared its problem only when a message arrived, so it stayed FAILING after the
   * permission was granted again. If the recovery were not detected, the worker would stay FAILING,
   * the window at 0, and the producer's send after the reload would time out waiting for credit.
   */
  @Test
  void workerStayedFailingAfterItsPullPermissionWasRestored() throws Exception {
    String q = NATS.uniqueName("q");
    List<String> handled = new CopyOnWriteArrayList<>();
    try (Connection admin =
            NATS.server().connect(new Options.Builder().userInfo("admin", "admin"));
        Connection mover =
            NATS.server().connect(new Options.Builder().userInfo("mover", "mover"))) {
      Sluice.using(admin).provision(QueueSpec.of(q));
      try (Worker w =
              Sluice.using(mover)
                  .worker(q)
                  .heartbeat(Duration.ofMillis(250))
                  .advertTtl(Duration.ofSeconds(1))
                  .reconciler(Duration.ofMillis(300))
                  .handle(JOB, (s, c) -> handled.add(s))
                  .start();
          QueueProducer p =
              Sluice.using(admin).producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        p.send(OutgoingMessage.of(JOB, "before"));
        await().atMost(Duration.ofSeconds(10)).until(() -> handled.contains("before"));

        NATS.server().reload(users(false));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail())
            .startsWith("permission denied")
            .contains("$JS.API.CONSUMER.MSG.NEXT.SLUICE_Q_" + q);
        await().atMost(Duration.ofSeconds(10)).until(() -> w.advertisedCapacity() == 0);

        NATS.server().reload(users(true));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> w.health().state() == Health.State.RUNNING);
        assertThat(w.health().detail()).isEmpty();

        p.send(OutgoingMessage.of(JOB, "after"));
        await().atMost(Duration.ofSeconds(20)).until(() -> handled.contains("after"));
        assertThat(handled).containsExactly("before", "after");
        assertThat(w.advertisedCapacity()).isPositive();
      }
    }
  }
}
