package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** How a send spends, refunds and fails, seen as a user sees it (protocol §6.4, §6.5, §6.8). */
class ProducerSendTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @Test
  void aDuplicateMessageIdIsStoredOnceAndItsCreditRefunded() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).tokenBatch(4).build());
      try (QueueProducer p = sluice.producer(q).idleReturn(Duration.ofMinutes(1)).build()) {
        OutgoingMessage m =
            OutgoingMessage.builder(Queues.TYPE, 1, "once".getBytes())
                .messageId("order-17")
                .build();
        SendResult first = p.send(m);
        SendResult again = p.send(m);

        assertThat(first.duplicate()).isFalse();
        assertThat(again.duplicate()).isTrue();
        assertThat(again.streamSequence()).isEqualTo(first.streamSequence());
        // Without the refund the duplicate would spend a credit on a message never stored: the
        // window would shrink by one for every re-sent id.
        assertThat(p.creditsHeld()).isEqualTo(3);
        assertThat(p.sentTotal()).isEqualTo(1);
        assertThat(Queues.backlog(nc, q)).isEqualTo(1);
      }
    }
  }

  @Test
  void aSendThatMeetsTheHardLimitUntilItsDeadlineFailsWithStreamAtHardLimit() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).hardLimit(3).standingBuffer(2).tokenBatch(1).build());
      for (int i = 0; i < 3; i++) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "raw".getBytes()); // ignores credits
      }
      try (QueueProducer p =
          sluice
              .producer(q)
              .acquireTimeout(Duration.ofSeconds(1))
              .idleReturn(Duration.ofMinutes(1))
              .build()) {
        CompletableFuture<SendResult> f = p.sendAsync(OutgoingMessage.of(JOB, "polite"));
        // The stream's refusal is back-pressure, retried until the acquire timeout; then the
        // reason says so (not "all credits in use", which would send the user to the workers).
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS))
            .hasCauseInstanceOf(CreditTimeoutException.class)
            .cause()
            .satisfies(
                e ->
                    assertThat(((CreditTimeoutException) e).reason())
                        .isEqualTo(CreditTimeoutException.Reason.STREAM_AT_HARD_LIMIT))
            .hasMessageContaining("is at its hard limit (max_msgs)");
        // Refused by the stream, the message was not stored: its credit comes back.
        await().atMost(Duration.ofSeconds(5)).until(() -> p.creditsHeld() == 1);
        assertThat(Queues.backlog(nc, q)).isEqualTo(3);
      }
    }
  }

  @Test
  void sendsAfterCloseFailAndASecondCloseReturnsQuietly() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(2).tokenBatch(2).build());
      QueueProducer p = sluice.producer(q).idleReturn(Duration.ofMinutes(1)).build();
      p.send(OutgoingMessage.of(JOB, "before"));
      assertThat(p.creditsHeld()).isEqualTo(1);
      p.close();
      p.close();
      // Close returns the partly spent token by acking it (its unspent credit is the reconciler's
      // to mint, §6.7): a producer that kept holding it would hold the credit until the lease
      // ends, and one that minted it back would need to publish tokens.
      assertThat(Queues.tokens(nc, q)).isZero();
      assertThat(
              nc.jetStreamManagement()
                  .getConsumerInfo("SLUICE_CREDITS", "credits-" + q)
                  .getNumAckPending())
          .isZero();
      assertThatThrownBy(() -> p.send(OutgoingMessage.of(JOB, "after")))
          .isInstanceOf(SluiceException.class)
          .hasMessageContaining("is closed");
    }
  }
}
