package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A publish that no stream answers (NATS "no responders": the work stream is gone, or a clustered
 * stream is electing its leader) is retried with the same id until the send's deadline (protocol §6
 * step 5 [v1.3]). Failing it at once would drop the send during every leader election of a
 * clustered queue.
 */
class ProducerNoStreamTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void aSendNoStreamAnswersIsRetriedUntilTheStreamIsBack() throws Exception {
    String q = NATS.uniqueName("q");
    try (LogCapture publisher = LogCapture.of("dev.sluice.internal.producer.Publisher");
        Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(1).tokenBatch(1).build());
      try (QueueProducer p =
          sluice
              .producer(q)
              .acquireTimeout(Duration.ofSeconds(20))
              .idleReturn(Duration.ofMinutes(1))
              .build()) {
        nc.jetStreamManagement().deleteStream(Protocol.workStream(q));

        CompletableFuture<SendResult> send =
            p.sendAsync(
                OutgoingMessage.builder(Queues.TYPE, 1, "while-gone".getBytes())
                    .messageId("while-gone")
                    .build());
        await().atMost(Duration.ofSeconds(10)).until(() -> publisher.saw("no stream answered"));
        assertThat(send).isNotDone();

        sluice.provision(QueueSpec.of(q));
        SendResult r = send.get(15, TimeUnit.SECONDS);

        assertThat(r.duplicate()).isFalse();
        assertThat(Queues.backlog(nc, q)).isEqualTo(1);
        assertThat(p.sentTotal()).isEqualTo(1);
      }
    }
  }

  @Test
  void aSendNoStreamEverAnswersFailsNamingTheMissingStreamAndGivesItsCreditBack() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(1).tokenBatch(1).build());
      try (QueueProducer p =
          sluice
              .producer(q)
              .acquireTimeout(Duration.ofSeconds(2))
              .idleReturn(Duration.ofMinutes(1))
              .build()) {
        nc.jetStreamManagement().deleteStream(Protocol.workStream(q));

        assertThatThrownBy(
                () ->
                    p.send(
                        OutgoingMessage.builder(Queues.TYPE, 1, "never".getBytes())
                            .messageId("never")
                            .build()))
            .isInstanceOf(PublishException.class)
            .hasMessageContaining("no stream answered")
            .hasMessageContaining("is the queue provisioned");
        // Nothing was stored, so the credit is the producer's again. Kept spent, it would be
        // out of circulation until the reconciler noticed the deficit.
        assertThat(p.creditsHeld()).isEqualTo(1);
      }
    }
  }
}
