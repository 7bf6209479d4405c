package dev.sluice.internal.producer;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.TokenWallet;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pulls credit tokens into the wallet (protocol §6.2): at most {@code min(prefetch, sends waiting
 * that held credits do not cover)} single-token pulls with an expiry outstanding on {@code
 * credits-<q>}, one per pull thread. A pull thread sleeps on a condition until the wallet reports
 * more demand ({@link #demandChanged()}), so an idle producer sends no pulls. Never a push or
 * "consume" subscription: it would hoard tokens. Thread-safe.
 */
final class CreditPuller implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CreditPuller.class);
  // A failing server (restarting, consumer missing) is retried from 250 ms, doubling to 5 s with
  // jitter, for as long as the producer is open: the pull threads are its only way to credits.
  private static final Duration RETRY_FIRST = Duration.ofMillis(250);
  private static final Duration RETRY_MAX = Duration.ofSeconds(5);

  private final JetStream js;
  private final String queue;
  private final int prefetch;
  private final Duration expiry;
  private final TokenWallet wallet;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition demand = lock.newCondition();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;
  private int activePulls;
  private final RetryPolicy<List<Message>> pullRetry;

  CreditPuller(JetStream js, ProducerSettings s, TokenWallet wallet) {
    this.js = js;
    this.queue = s.queue();
    this.prefetch = s.prefetch();
    this.expiry = s.pullExpiry();
    this.wallet = wallet;
    this.pullRetry =
        RetryPolicy.<List<Message>>builder()
            .handleIf(e -> !(e instanceof InterruptedException))
            .abortIf((r, e) -> e != null && !running)
            .withBackoff(RETRY_FIRST, RETRY_MAX)
            .withJitter(0.25)
            .withMaxRetries(-1)
            .onRetry(
                ev ->
                    LOG.warn(
                        "credit pull for queue {} failed ({} in a row): {}; retrying",
                        queue,
                        ev.getAttemptCount(),
                        String.valueOf(ev.getLastException())))
            .build();
    for (int i = 0; i < prefetch; i++) {
      Thread t = new Thread(this::pullLoop, "sluice-producer-" + s.producerId() + "-pull-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
  }

  void start() {
    threads.forEach(Thread::start);
  }

  /** Wakes the pull threads to look at the wallet's demand again. */
  void demandChanged() {
    lock.lock();
    try {
      demand.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void pullLoop() {
    // One subscription per pull thread; a failed fetch drops it and the retry binds a new one.
    JetStreamSubscription[] sub = {null};
    while (running) {
      try {
        if (!awaitDemand()) {
          break;
        }
        List<Message> got = List.of();
        try {
          got = Failsafe.with(pullRetry).get(() -> fetchOne(sub));
        } finally {
          lock.lock();
          try {
            activePulls--;
          } finally {
            lock.unlock();
          }
          hold(got);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (FailsafeException e) {
        if (e.getCause() instanceof InterruptedException
            || Thread.currentThread().isInterrupted()) {
          return;
        }
        // Retries stop only when the producer closes.
      }
    }
    if (sub[0] != null) {
      try {
        sub[0].unsubscribe();
      } catch (RuntimeException ignored) {
        // closing
      }
    }
  }

  /** One single-token pull, binding the subscription first if it was dropped. */
  private List<Message> fetchOne(JetStreamSubscription[] sub) throws Exception {
    try {
      if (sub[0] == null) {
        sub[0] =
            js.subscribe(
                null,
                PullSubscribeOptions.bind(Protocol.CREDIT_STREAM, Protocol.creditConsumer(queue)));
      }
      return sub[0].fetch(1, expiry);
    } catch (Exception e) {
      sub[0] = null;
      throw e;
    }
  }

  /** Blocks until this thread should pull, counting the pull as active; false once closed. */
  private boolean awaitDemand() throws InterruptedException {
    lock.lock();
    try {
      while (running && activePulls >= Math.min(prefetch, wallet.uncovered())) {
        demand.await();
      }
      if (!running) {
        return false;
      }
      activePulls++;
      return true;
    } finally {
      lock.unlock();
    }
  }

  private void hold(List<Message> got) {
    for (Message m : got) {
      if (!m.isJetStream()) {
        continue; // a status message (e.g. the pull expired)
      }
      long v = Credits.tokenValue(m.getSubject());
      if (v <= 0) {
        LOG.warn("dropping malformed credit token on {}", m.getSubject());
        m.term();
        continue;
      }
      wallet.add(new NatsToken(m, (int) v)); // a closed wallet NAKs it
    }
  }

  /** Stops pulling; waits up to one pull expiry (plus margin) for each pull thread. */
  @Override
  public void close() {
    running = false;
    demandChanged();
    for (Thread t : threads) {
      try {
        t.join(expiry.toMillis() + 2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
