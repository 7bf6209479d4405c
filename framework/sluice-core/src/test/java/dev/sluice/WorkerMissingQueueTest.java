package dev.sluice;

import static dev.sluice.OutcomeWorkers.JOB;
import static dev.sluice.OutcomeWorkers.provision;
import static dev.sluice.OutcomeWorkers.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A worker whose queue is missing, at start or deleted under it, says to provision it. */
class WorkerMissingQueueTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void deletedStreamGivesAClearErrorWithoutAHotLoop() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc, QueueSpec.builder(NATS.uniqueName("q")));
      try (Worker w = worker(Sluice.using(nc), q).handle(JOB, (s, ctx) -> {}).start()) {
        await().atMost(Duration.ofSeconds(5)).until(() -> w.health().ready());
        nc.jetStreamManagement().deleteStream(Protocol.workStream(q));

        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.FAILING);
        assertThat(w.health().detail()).contains("does not exist").contains("re-provision");
        assertThat(w.advertisedCapacity()).isZero();

        Sluice.using(nc).provision(QueueSpec.of(q));
        await().atMost(Duration.ofSeconds(10)).until(() -> w.health().ready());
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "after".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
      }
    }
  }

  @Test
  void workerStartOnAMissingQueueSaysToProvision() {
    try (Connection nc = NATS.server().connect()) {
      assertThatThrownBy(
              () -> Sluice.using(nc).worker("never-made").handle(JOB, (s, c) -> {}).start())
          .isInstanceOf(SluiceException.class)
          .hasMessageContaining("queue 'never-made' is not provisioned")
          .hasMessageContaining("Sluice.provision");
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
