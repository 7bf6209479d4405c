package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The await helpers on a real work stream laid out as Sluice lays it out ({@code SLUICE_Q_<q>},
 * WorkQueue retention), with a plain jnats consumer standing in for a worker.
 */
class QueueAwaitTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static void workStream(Connection nc, String q) throws Exception {
    nc.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name("SLUICE_Q_" + q)
                .subjects("sluice.q." + q)
                .retentionPolicy(RetentionPolicy.WorkQueue)
                .build());
  }

  @Test
  void waitsUntilAWorkerAckedEveryMessage() throws Exception {
    String q = NATS.uniqueName("q");
    ExecutorService worker = Executors.newSingleThreadExecutor();
    try (Connection nc = NATS.server().connect()) {
      workStream(nc, q);
      JetStream js = nc.jetStream();
      for (int i = 0; i < 20; i++) {
        js.publish("sluice.q." + q, ("job-" + i).getBytes());
      }
      JetStreamSubscription sub =
          js.subscribe(
              "sluice.q." + q,
              PullSubscribeOptions.builder()
                  .durable("workers")
                  .configuration(ConsumerConfiguration.builder().build())
                  .build());
      worker.submit(
          () -> {
            int acked = 0;
            while (acked < 20) {
              List<Message> batch = sub.fetch(5, Duration.ofSeconds(1));
              for (Message m : batch) {
                m.ackSync(Duration.ofSeconds(2));
                acked++;
              }
            }
            return null;
          });

      QueueAwait.processed(nc, q, 20, Duration.ofSeconds(20));
      QueueAwait.drained(nc, q, Duration.ofSeconds(5));
      assertThat(
              nc.jetStreamManagement()
                  .getStreamInfo("SLUICE_Q_" + q)
                  .getStreamState()
                  .getMsgCount())
          .isZero();
    } finally {
      worker.shutdownNow();
    }
  }

  @Test
  void failsWithWhatIsLeftWhenNoWorkerRuns() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      workStream(nc, q);
      for (int i = 0; i < 3; i++) {
        nc.jetStream().publish("sluice.q." + q, new byte[] {1});
      }
      assertThatThrownBy(() -> QueueAwait.drained(nc, q, Duration.ofMillis(300)))
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining(q)
          .hasMessageContaining("3 messages still stored");
      assertThatThrownBy(() -> QueueAwait.processed(nc, q, 1, Duration.ofMillis(300)))
          .hasMessageContaining("0 of 1 messages processed");
      assertThatThrownBy(() -> QueueAwait.drained(nc, "never-provisioned", Duration.ofSeconds(1)))
          .hasMessageContaining("no work stream SLUICE_Q_never-provisioned");
    }
  }
}
