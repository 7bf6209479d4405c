package dev.sluice.internal.credit;

import dev.sluice.internal.proto.MintReason;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import java.time.Duration;
import java.util.List;

/**
 * Burns credits by fetching tokens from a queue's credit consumer and acking them (protocol §5.5),
 * minting back ({@code RETURN}) what a token held beyond the amount. Used by the {@link Reconciler}
 * on its own thread; not thread-safe.
 */
final class TokenBurner {
  /** The most tokens one fetch asks for. */
  private static final int MAX_FETCH = 256;

  private static final Duration FETCH_WAIT = Duration.ofMillis(300);

  private final JetStream js;
  private final String queue;
  private final TokenMinter minter;

  TokenBurner(JetStream js, String queue, TokenMinter minter) {
    this.js = js;
    this.queue = queue;
    this.minter = minter;
  }

  /**
   * Takes up to {@code amount} credits out of circulation from the tokens nobody holds: within
   * {@code budget}, or until a fetch finds none when {@code budget} is null. Returns what it
   * burned.
   */
  long burn(long amount, int batch, Duration budget) throws Exception {
    long deadline = budget == null ? Long.MAX_VALUE : System.nanoTime() + budget.toNanos();
    JetStreamSubscription sub =
        js.subscribe(
            null,
            PullSubscribeOptions.bind(Protocol.CREDIT_STREAM, Protocol.creditConsumer(queue)));
    long burned = 0;
    try {
      while (burned < amount && System.nanoTime() < deadline) {
        // Enough tokens for what is left if each is a whole batch (none is larger, §5.3): an idle
        // queue's surplus of hundreds of tokens burns in a few requests, not one round trip each.
        int want = (int) Math.min(MAX_FETCH, (amount - burned + batch - 1) / batch);
        List<Message> got = sub.fetch(want, budget == null ? FETCH_WAIT : budget);
        if (got.isEmpty()) {
          break; // every remaining token is held: burn the rest at a later audit
        }
        for (Message m : got) {
          if (burned >= amount) {
            m.nak(); // a token larger than the batch covered the rest: this one is not needed
            continue;
          }
          long v = Credits.tokenValue(m.getSubject());
          if (v <= 0) {
            m.term();
            continue;
          }
          long need = amount - burned;
          if (v > need) {
            minter.mint(v - need, batch, MintReason.MINT_REASON_RETURN);
            burned += need;
          } else {
            burned += v;
          }
          m.ackSync(Duration.ofSeconds(2));
        }
      }
    } finally {
      sub.unsubscribe();
    }
    return burned;
  }
}
