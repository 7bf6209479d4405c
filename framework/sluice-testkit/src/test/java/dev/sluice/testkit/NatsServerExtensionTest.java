package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class NatsServerExtensionTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void streamRoundTripsAMessage() throws Exception {
    String stream = NATS.uniqueName("s");
    try (Connection nc = NATS.server().connect()) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      jsm.addStream(
          StreamConfiguration.builder()
              .name(stream)
              .subjects(stream + ".>")
              .storageType(StorageType.File)
              .build());
      JetStream js = nc.jetStream();
      PublishAck ack = js.publish(stream + ".a", "hello".getBytes(StandardCharsets.UTF_8));
      assertThat(ack.getSeqno()).isEqualTo(1);

      JetStreamSubscription sub =
          js.subscribe(stream + ".>", PullSubscribeOptions.builder().build());
      List<Message> got = sub.fetch(1, Duration.ofSeconds(5));
      assertThat(got).hasSize(1);
      assertThat(new String(got.get(0).getData(), StandardCharsets.UTF_8)).isEqualTo("hello");
      assertThat(got.get(0).getSubject()).isEqualTo(stream + ".a");
    }
  }

  @Test
  void uniqueNamesDifferBetweenCalls() {
    assertThat(NATS.uniqueName("q")).isNotEqualTo(NATS.uniqueName("q")).matches("[a-z0-9-]+");
  }

  @Test
  void killedServerComesBackWithItsData(NatsServer server) throws Exception {
    String stream = NATS.uniqueName("crash");
    try (Connection nc = server.connect()) {
      nc.jetStreamManagement()
          .addStream(
              StreamConfiguration.builder()
                  .name(stream)
                  .subjects(stream)
                  .storageType(StorageType.File)
                  .build());
      nc.jetStream().publish(stream, new byte[] {1, 2, 3});
    }
    long before = server.pid().orElseThrow();

    server.kill();
    assertThat(server.isAlive()).isFalse();
    server.start();

    assertThat(server.pid().orElseThrow()).isNotEqualTo(before);
    try (Connection nc = server.connect()) {
      // An acknowledged publish survives SIGKILL: the store was written before the PubAck.
      assertThat(nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount())
          .isEqualTo(1);
    }
  }

  @Test
  void pausedServerAnswersNothingUntilResumed(NatsServer server) throws Exception {
    try (Connection nc = server.connect()) {
      nc.flush(Duration.ofSeconds(2));
      server.pause();
      try {
        // SIGSTOP: the socket stays open, but no PONG comes back.
        assertThatThrownBy(() -> nc.flush(Duration.ofMillis(500)))
            .isInstanceOf(java.util.concurrent.TimeoutException.class);
      } finally {
        server.resume();
      }
      nc.flush(Duration.ofSeconds(5));
      assertThat(server.isAlive()).isTrue();
    }
  }
}
