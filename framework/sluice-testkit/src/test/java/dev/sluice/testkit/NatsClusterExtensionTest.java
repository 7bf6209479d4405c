package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class NatsClusterExtensionTest {
  @RegisterExtension static final NatsClusterExtension CLUSTER = NatsClusterExtension.create();

  @Test
  void replicatedStreamSurvivesLosingItsLeader() throws Exception {
    String stream = CLUSTER.uniqueName("r3");
    try (Connection nc = CLUSTER.connect()) {
      nc.jetStreamManagement()
          .addStream(
              StreamConfiguration.builder()
                  .name(stream)
                  .subjects(stream)
                  .replicas(3)
                  .storageType(StorageType.File)
                  .build());
      for (int i = 0; i < 10; i++) {
        nc.jetStream().publish(stream, new byte[] {(byte) i});
      }
      NatsServer leader =
          await()
              .atMost(Duration.ofSeconds(20))
              .until(() -> CLUSTER.leaderOf(stream, nc).orElse(null), l -> l != null);

      leader.kill();

      // A new leader among the two survivors; all ten acknowledged messages are still there.
      NatsServer next =
          await()
              .atMost(Duration.ofSeconds(30))
              .ignoreExceptions()
              .until(
                  () -> CLUSTER.leaderOf(stream, nc).orElse(null),
                  l -> l != null && !l.name().equals(leader.name()));
      assertThat(next.isAlive()).isTrue();
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .untilAsserted(
              () ->
                  assertThat(
                          nc.jetStreamManagement()
                              .getStreamInfo(stream)
                              .getStreamState()
                              .getMsgCount())
                      .isEqualTo(10));
      nc.jetStream().publish(stream, new byte[] {42});

      leader.start();
    }
  }

  @Test
  void aClusterThatDoesNotFormIsReportedWithEveryNodesConfigurationAndOutput() {
    String report = CLUSTER.formationFailure("no meta leader");
    assertThat(report).startsWith("no meta leader; cluster sluice-test-");
    for (NatsServer n : CLUSTER.nodes()) {
      assertThat(report)
          .contains("nats-server " + n.name() + " (client port " + n.port() + ", pid ")
          .contains("server_name: " + n.name());
    }
    // The cluster block with its ports, and what the servers said (nats-server logs this line at
    // its default level once it accepts clients).
    assertThat(report)
        .contains("  name: sluice-test-")
        .contains("routes: [")
        .contains("Server is ready");
  }
}
