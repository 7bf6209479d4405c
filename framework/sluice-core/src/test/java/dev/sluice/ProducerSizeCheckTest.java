package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A message too large to be stored is refused before it spends a credit (PROTOCOL.md §2.2): headers
 * plus payload against the work stream's max message size and the server's max payload.
 */
class ProducerSizeCheckTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void aMessageOverTheStreamsMaxMessageSizeIsRefusedWithoutSpendingACredit() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(
          QueueSpec.builder(q).standingBuffer(4).tokenBatch(4).maxMessageSize(4096).build());
      try (QueueProducer p = sluice.producer(q).idleReturn(Duration.ofMinutes(1)).build()) {
        p.send(OutgoingMessage.builder(Queues.TYPE, 1, new byte[3000]).build()); // fits
        long held = p.creditsHeld();
        assertThat(held).isEqualTo(3);
        // The queue's view once the producer's report shows what it holds.
        await().atMost(Duration.ofSeconds(10)).until(() -> sluice.inspect(q).heldUnspent() == held);
        long tokens = sluice.inspect(q).tokens();
        long available = sluice.inspect(q).creditsAvailable();

        assertThatThrownBy(
                () -> p.send(OutgoingMessage.builder(Queues.TYPE, 1, new byte[4096]).build()))
            .isInstanceOf(MessageTooLargeException.class)
            .hasMessageContaining("max_msg_size of stream SLUICE_Q_" + q)
            .hasMessageContaining("(4096 bytes)")
            .hasMessageContaining("no credit was spent")
            .hasMessageContaining("send a smaller payload")
            .satisfies(
                e -> {
                  MessageTooLargeException t = (MessageTooLargeException) e;
                  assertThat(t.payloadBytes()).isEqualTo(4096);
                  assertThat(t.headerBytes()).isPositive();
                  assertThat(t.size()).isEqualTo(t.headerBytes() + 4096);
                  assertThat(t.limit()).isEqualTo(4096);
                  assertThat(t.limitName()).isEqualTo("max_msg_size of stream SLUICE_Q_" + q);
                });

        assertThat(p.creditsHeld()).as("the producer's credits").isEqualTo(held);
        QueueInspection after = sluice.inspect(q);
        assertThat(after.tokens()).as("the queue's stored credits").isEqualTo(tokens);
        assertThat(after.heldUnspent()).as("held, as reported").isEqualTo(held);
        assertThat(after.creditsAvailable()).as("the queue's available").isEqualTo(available);
        assertThat(p.sentTotal()).isEqualTo(1);
        assertThat(Queues.backlog(nc, q)).isEqualTo(1);
      }
    }
  }

  /**
   * With no credit to be had a send would wait for its acquire timeout; a message that can never be
   * stored fails at once with the size error instead (the check comes before the credit).
   */
  @Test
  void theCheckComesBeforeWaitingForACreditAndNamesTheServersMaxPayload() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      long maxPayload = nc.getServerInfo().getMaxPayload();
      // A stream limit above the server's: the server's max payload is the one that binds.
      sluice.provision(
          QueueSpec.builder(q).standingBuffer(0).maxMessageSize((int) maxPayload * 2).build());
      try (QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        byte[] payload = new byte[(int) maxPayload];
        assertThatThrownBy(() -> p.send(OutgoingMessage.builder(Queues.TYPE, 1, payload).build()))
            .isInstanceOf(MessageTooLargeException.class)
            .hasMessageContaining("max_payload of the server")
            .hasMessageContaining("(" + maxPayload + " bytes)");
        assertThat(p.waiting()).isZero();
        assertThat(Queues.backlog(nc, q)).isZero();
      }
    }
  }
}
