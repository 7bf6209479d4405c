package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CreditToken;
import dev.sluice.internal.proto.MintReason;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes credit tokens (protocol §5.3). Each token carries a {@code Nats-Msg-Id} unique to this
 * minter instance, so a retried publish after a lost PubAck cannot mint the same credits twice.
 * Thread-safe.
 */
public final class TokenMinter implements Replenisher.Minter {
  private static final Logger LOG = LoggerFactory.getLogger(TokenMinter.class);
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
  @Override
  public void mint(long credits, int batch, MintReason reason) throws IOException {
    mintTokens(Credits.decompose(credits, batch), reason);
  }

  /**
   * Mints one token per value; returns when every PubAck arrived. The tokens are published together
   * and their PubAcks awaited together: one round trip for a batch, not one per token.
   */
  public void mintTokens(List<Integer> values, MintReason reason) throws IOException {
    List<Pending> pending = new ArrayList<>();
    for (int n : values) {
      Pending p = new Pending(n, newToken(n, reason));
      p.future = send(p);
      pending.add(p);
    }
    IOException last = null;
    for (Pending p : pending) {
      for (int i = 1; ; i++) {
        try {
          p.future.get(3, TimeUnit.SECONDS);
          mintedTotal.addAndGet(p.credits);
          break;
        } catch (ExecutionException e) {
          Throwable c =
              e.getCause() instanceof RuntimeException && e.getCause().getCause() != null
                  ? e.getCause().getCause()
                  : e.getCause();
          if (c instanceof JetStreamApiException api) {
            throw new IOException("credit stream refused a token: " + api.getMessage(), api);
          }
          last = new IOException("token publish failed: " + c, c);
        } catch (TimeoutException e) {
          last = new IOException("no PubAck for a token within 3 s", e);
        } catch (CancellationException e) {
          // jnats gave up on the PubAck (its request timeout, or closing): the token may be
          // stored, so retry with the same id rather than let the caller mint it anew.
          last = new IOException("the NATS client gave up on a token's PubAck: " + e, e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while minting", e);
        }
        if (i >= TRIES) {
          throw last;
        }
        LOG.info(
            "retrying a token of {} credits for queue {} with the same id (try {} of {}): {}",
            p.credits,
            queue,
            i + 1,
            TRIES,
            last.getMessage());
        p.future = send(p); // the same Nats-Msg-Id: a retry after a lost PubAck cannot mint twice
      }
    }
  }

  private static final class Pending {
    final int credits;
    final Message message;
    CompletableFuture<PublishAck> future;

    Pending(int credits, Message message) {
      this.credits = credits;
      this.message = message;
    }
  }

  /**
   * A token's {@code Nats-Msg-Id} (§5.4 [v1.2]): {@code <minter id>.<instance nonce>.<counter>},
   * the counter from 1.
   */
  public static String tokenId(String minterId, String nonce, long counter) {
    return minterId + "." + nonce + "." + counter;
  }

  private Message newToken(int n, MintReason reason) {
    byte[] body =
        CreditToken.newBuilder()
            .setCredits(n)
            .setMintedBy(mintedBy)
            .setMintedUnixMs(System.currentTimeMillis())
            .setReason(reason)
            .build()
            .toByteArray();
    Headers h = new Headers();
    h.put("Nats-Msg-Id", tokenId(mintedBy, instance, counter.incrementAndGet()));
    return NatsMessage.builder()
        .subject(Protocol.creditSubject(queue, n))
        .headers(h)
        .data(body)
        .build();
  }

  private CompletableFuture<PublishAck> send(Pending p) {
    try {
      return js.publishAsync(p.message, PublishOptions.builder().build());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Credits minted by this instance so far. */
  @Override
  public long mintedTotal() {
    return mintedTotal.get();
  }
}
