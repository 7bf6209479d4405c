package dev.sluice.internal.worker;

import io.nats.client.Message;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each pulled message to the handler executor, runs it through the {@link Chain} there, and
 * gives the result to the {@link Settler}: success when the chain returns without having settled
 * the message, a failure when it throws. Frees the message's pull slot when it is done.
 * Thread-safe.
 */
final class Dispatcher {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

  private final Executor executor;
  private final Chain chain;
  private final Settler settler;
  private final Semaphore slots;
  private final Pushback pushback;
  private final BreakerState breaker;
  private final Set<Message> inFlight = ConcurrentHashMap.newKeySet();
  private final AtomicInteger inFlightCount = new AtomicInteger();

  Dispatcher(
      Executor executor,
      Chain chain,
      Settler settler,
      Semaphore slots,
      Pushback pushback,
      BreakerState breaker) {
    this.executor = executor;
    this.chain = chain;
    this.settler = settler;
    this.slots = slots;
    this.pushback = pushback;
    this.breaker = breaker;
  }

  /** Called by the pull loop, which has taken a slot for {@code m}. */
  void dispatch(Message m) {
    inFlight.add(m);
    inFlightCount.incrementAndGet();
    try {
      executor.execute(() -> runAndRelease(m));
    } catch (RejectedExecutionException e) {
      release(m);
      m.nak();
    }
  }

  private void runAndRelease(Message m) {
    boolean held = false;
    try {
      held = process(m);
    } finally {
      if (!held) {
        release(m);
      }
    }
  }

  /** §15.1: runs a message that pushed back again, on the same delivery; it keeps its slot. */
  private void retry(Message m) {
    try {
      executor.execute(() -> runAndRelease(m));
    } catch (RejectedExecutionException e) {
      release(m);
      settler.nak(m, java.time.Duration.ZERO);
    }
  }

  /**
   * Frees the slot of a message that left the worker's hands, or of one held for a pushback retry
   * (shutdown; the caller has NAKed it). Before the in-flight count drops: a probe that ends here
   * (§7.6) has given its permit back by the time the pull loop sees nothing in hand.
   */
  void release(Message m) {
    breaker.released(m);
    pushback.settled(m);
    inFlight.remove(m);
    inFlightCount.decrementAndGet();
    slots.release();
  }

  /** Returns true when the message pushed back and is held for a retry (§15.1). */
  private boolean process(Message m) {
    Delivery d;
    try {
      d = new Delivery(m);
    } catch (RuntimeException e) {
      LOG.warn("not a JetStream delivery ({}): ignored", e.toString());
      return false;
    }
    Throwable failure = null;
    boolean gated = false;
    try {
      gated = pushback.enter();
      chain.run(d);
    } catch (Throwable t) {
      failure = t;
    } finally {
      if (gated) {
        pushback.exit();
      }
    }
    if (d.settled) {
      return false;
    }
    if (failure == null) {
      settler.succeeded(d);
    } else if (pushback.pushedBack(m, failure, () -> retry(m), this::release)) {
      return true;
    } else {
      settler.failed(d, failure);
    }
    return false;
  }

  int inFlight() {
    return inFlightCount.get();
  }

  /** The messages being handled now (shutdown NAKs those that overran the grace). */
  List<Message> inFlightMessages() {
    return List.copyOf(inFlight);
  }
}
