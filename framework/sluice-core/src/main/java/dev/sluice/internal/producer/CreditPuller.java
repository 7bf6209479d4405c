package dev.sluice.internal.producer;

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
  private static final long RETRY_AFTER_ERROR_MS = 250;

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

  CreditPuller(JetStream js, ProducerSettings s, TokenWallet wallet) {
    this.js = js;
    this.queue = s.queue();
    this.prefetch = s.prefetch();
    this.expiry = s.pullExpiry();
    this.wallet = wallet;
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
    JetStreamSubscription sub = null;
    while (running) {
      try {
        if (!awaitDemand()) {
          break;
        }
        List<Message> got = List.of();
        try {
          if (sub == null) {
            sub =
                js.subscribe(
                    null,
                    PullSubscribeOptions.bind(
                        Protocol.CREDIT_STREAM, Protocol.creditConsumer(queue)));
          }
          got = sub.fetch(1, expiry);
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
      } catch (Exception e) {
        if (running) {
          LOG.warn("credit pull for queue {} failed: {}; retrying", queue, e.toString());
          sub = null;
          try {
            Thread.sleep(RETRY_AFTER_ERROR_MS); // back off from a failing server, not a poll
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }
    if (sub != null) {
      try {
        sub.unsubscribe();
      } catch (RuntimeException ignored) {
        // closing
      }
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
