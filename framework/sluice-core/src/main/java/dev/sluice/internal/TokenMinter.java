package dev.sluice.internal;

import dev.sluice.internal.proto.CreditToken;
import dev.sluice.internal.proto.MintReason;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.PublishOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes credit tokens (protocol §5.3). Each token carries a {@code Nats-Msg-Id} unique to this
 * minter instance, so a retried publish after a lost PubAck cannot mint the same credits twice.
 * Thread-safe.
 */
public final class TokenMinter {
  private static final int TRIES = 5;
  private final JetStream js;
  private final String queue;
  private final String mintedBy;
  private final String instance;
  private final AtomicLong counter = new AtomicLong();
  private final AtomicLong mintedTotal = new AtomicLong();

  public TokenMinter(JetStream js, String queue, String mintedBy) {
    this.js = js;
    this.queue = queue;
    this.mintedBy = mintedBy;
    byte[] nonce = new byte[4];
    ThreadLocalRandom.current().nextBytes(nonce);
    this.instance = HexFormat.of().formatHex(nonce);
  }

  /** Mints {@code credits} decomposed with {@code batch}; returns when every PubAck arrived. */
  public void mint(long credits, int batch, MintReason reason) throws IOException {
    mintTokens(Credits.decompose(credits, batch), reason);
  }

  /** Mints one token per value; returns when every PubAck arrived. */
  public void mintTokens(List<Integer> values, MintReason reason) throws IOException {
    for (int n : values) {
      mintOne(n, reason);
    }
  }

  private void mintOne(int n, MintReason reason) throws IOException {
    byte[] body =
        CreditToken.newBuilder()
            .setCredits(n)
            .setMintedBy(mintedBy)
            .setMintedUnixMs(System.currentTimeMillis())
            .setReason(reason)
            .build()
            .toByteArray();
    String id = mintedBy + "." + instance + "." + counter.incrementAndGet();
    PublishOptions opts =
        PublishOptions.builder()
            .messageId(id)
            .expectedStream(Protocol.CREDIT_STREAM)
            .streamTimeout(Duration.ofSeconds(2))
            .build();
    IOException last = null;
    for (int i = 0; i < TRIES; i++) {
      try {
        js.publish(Protocol.creditSubject(queue, n), body, opts);
        mintedTotal.addAndGet(n);
        return;
      } catch (IOException e) {
        last = e; // a timeout: the retry carries the same id, so it cannot mint twice
      } catch (JetStreamApiException e) {
        throw new IOException("credit stream refused a token: " + e.getMessage(), e);
      }
    }
    throw last;
  }

  /** Credits minted by this instance so far. */
  public long mintedTotal() {
    return mintedTotal.get();
  }
}
