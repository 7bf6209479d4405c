package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.credit.TokenMinter;
import dev.sluice.internal.proto.MintReason;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.JetStreamOptions;
import io.nats.client.Options;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A token whose PubAck never comes may still be stored. When jnats gives up on the PubAck (its
 * request timeout, shorter here than the minter's own 3 s wait: jnats 2.26 fails the publish's
 * future with a {@code CancellationException} inside a {@code CompletionException}) the minter must
 * publish the token again with the same {@code Nats-Msg-Id}, so the server stores it once. Treated
 * as a failure, the mint would be abandoned and its credits stay owed, and the next round would
 * mint them again under a new id: the window would grow by the token's credits, one more message
 * than the workers advertised for each credit.
 */
class TokenMinterPubAckLostTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void aTokenTheClientGivesUpOnIsPublishedAgainUnderItsIdAndStoredOnce() throws Exception {
    String q = NATS.uniqueName("q");
    try (LogCapture minterLog = LogCapture.of(TokenMinter.class.getName());
        Connection admin = NATS.server().connect();
        Connection nc =
            NATS.server()
                .connect(new Options.Builder().requestCleanupInterval(Duration.ofMillis(100)))) {
      Sluice.using(admin).provision(QueueSpec.builder(q).standingBuffer(0).build());
      assertThat(Queues.tokens(admin, q)).isZero();
      TokenMinter minter =
          new TokenMinter(
              nc.jetStream(
                  JetStreamOptions.builder().requestTimeout(Duration.ofMillis(500)).build()),
              q,
              "test-worker");

      CompletableFuture<Void> mint;
      NATS.server().pause(); // the token is written, but nothing answers it
      try {
        mint =
            CompletableFuture.runAsync(
                () -> {
                  try {
                    minter.mintTokens(List.of(4), MintReason.MINT_REASON_REPLENISH);
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                });
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> mint.isDone() || minterLog.saw("retrying a token of 4 credits"));
        assertThat(mint).as("the mint must outlive the client's cancellation").isNotDone();
        assertThat(minterLog.saw("CancellationException"))
            .as("the retry was for the client's cancellation, not the minter's own timeout")
            .isTrue();
      } finally {
        NATS.server().resume();
      }

      mint.get(30, TimeUnit.SECONDS);
      assertThat(minter.mintedTotal()).isEqualTo(4);
      assertThat(Queues.tokens(admin, q)).as("stored once, whatever was retried").isEqualTo(4);
    }
  }
}
