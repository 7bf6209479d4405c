package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Options;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A publish whose PubAck never comes may still have been stored. jnats gives up on an unanswered
 * publish after its own request timeout (about 5 s) with a {@code CancellationException}, before a
 * longer {@code publishTimeout} of Sluice's; the send must treat that as "maybe stored" (retry with
 * the same message id, keep the credit spent) like its own timeout, not as a refusal. Read as a
 * refusal, the send failed although the message was in the queue, and its credit went back to the
 * producer: one message more than the window, and a caller told to resend a message that was
 * already queued.
 */
class ProducerPubAckLostTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void aPublishTheClientGivesUpOnIsRetriedAndItsCreditStaysSpent() throws Exception {
    String q = NATS.uniqueName("q");
    try (LogCapture publisher = LogCapture.of("dev.sluice.internal.producer.Publisher");
        Connection admin = NATS.server().connect();
        Connection nc =
            NATS.server().connect(new Options.Builder().requestCleanupInterval(ms(100)))) {
      Sluice.using(admin).provision(QueueSpec.builder(q).standingBuffer(2).tokenBatch(2).build());
      try (QueueProducer p =
          Sluice.using(nc)
              .producer(q)
              .publishTimeout(Duration.ofSeconds(30))
              .acquireTimeout(Duration.ofSeconds(40))
              .idleReturn(Duration.ofMinutes(5))
              .build()) {
        p.send(message("first")); // takes the 2-credit token: one credit left in hand
        assertThat(p.creditsHeld()).isEqualTo(1);

        NATS.server().pause(); // the publish is written, but nothing answers it
        CompletableFuture<SendResult> send;
        try {
          send = p.sendAsync(message("second"));
          // jnats cancels the unanswered publish after ~5 s (its request timeout).
          await()
              .atMost(Duration.ofSeconds(25))
              .until(() -> send.isDone() || publisher.saw("gave up waiting for the PubAck"));
          assertThat(send).as("the send must outlive the client's own timeout").isNotDone();
        } finally {
          NATS.server().resume();
        }

        SendResult r = send.get(30, TimeUnit.SECONDS);
        assertThat(r.messageId()).isEqualTo("second");
        assertThat(Queues.backlog(admin, q)).isEqualTo(2); // stored once, whatever was retried
        assertThat(p.creditsHeld()).as("the stored message's credit stays spent").isZero();
      }
    }
  }

  private static OutgoingMessage message(String id) {
    return OutgoingMessage.builder(Queues.TYPE, 1, id.getBytes()).messageId(id).build();
  }

  private static Duration ms(long n) {
    return Duration.ofMillis(n);
  }
}
