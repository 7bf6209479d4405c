package dev.sluice.internal.worker;

import dev.sluice.Backoff;
import dev.sluice.DownstreamOverloadedException;
import dev.sluice.PushbackPolicy;
import dev.sluice.internal.credit.Aimd;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import io.nats.client.Message;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downstream pushback (protocol §15.1): holds a message whose handler threw {@link
 * DownstreamOverloadedException} in hand (sending progress so the server redelivers it to no one)
 * and runs it again after the retry-after or the back-off, on the same delivery, so the delivery
 * count does not grow and the pushback is no attempt. With a {@link PushbackPolicy} enabled it also
 * keeps the {@link Aimd} limit that lowers the advertised capacity, and gates handlers while
 * lowered so that no more run at once than the lowered capacity. Nothing here runs per message
 * while the capacity is not lowered. Thread-safe.
 */
final class Pushback {
  private static final Logger LOG = LoggerFactory.getLogger(Pushback.class);

  private final Aimd aimd; // null when the policy is disabled
  private final Backoff backoff;
  private final Clock clock;
  private final Metrics metrics;
  private final ScheduledExecutorService timer;
  private final long progressEveryNanos;
  private final Map<Message, Held> held = new ConcurrentHashMap<>();
  private final AtomicLong pushbacks = new AtomicLong();
  private final Object gate = new Object();
  private IntSupplier nominal = () -> Integer.MAX_VALUE;
  private LongSupplier processed = () -> 0;
  private IntSupplier inHand = () -> 0;
  private long lastProcessed;
  private volatile int limit = Aimd.NONE;
  private int running; // guarded by gate

  /** A message that pushed back, from its first pushback until it is settled. */
  private static final class Held {
    int pushbacks;
    long dueNanos;
    long lastProgressNanos;
    boolean waiting; // guarded by this: waiting for its retry (not running)
    ScheduledFuture<?> retry;
  }

  Pushback(WorkerSettings s, ScheduledExecutorService timer, Duration ackWait) {
    PushbackPolicy p = s.pushback();
    this.aimd =
        p.enabled()
            ? new Aimd(
                p.decrease(),
                p.floor(),
                p.decreaseInterval().toMillis(),
                p.increaseInterval().toMillis())
            : null;
    this.backoff = s.backoff();
    this.clock = s.clock();
    this.metrics = s.metricsOrNoop();
    this.timer = timer;
    this.progressEveryNanos = ackWait.toNanos() / 3;
  }

  /**
   * Set once at start: the capacity without pushback, and the count of handler successes (the tick
   * reads it: the success path does no extra work).
   */
  void wire(IntSupplier nominalCapacity, LongSupplier processedCount, IntSupplier inHand) {
    this.nominal = nominalCapacity;
    this.processed = processedCount;
    this.inHand = inHand;
  }

  /** The capacity to advertise when the configured one is {@code nominal}. */
  int capacity(int nominal) {
    return aimd == null ? nominal : aimd.capacity(nominal);
  }

  /** The lowered limit on messages in hand, or {@link Aimd#NONE}; one volatile read. */
  int limit() {
    return limit;
  }

  /** Pushbacks since start. */
  long pushbacks() {
    return pushbacks.get();
  }

  /** AIMD decreases since start. */
  long decreases() {
    return aimd == null ? 0 : aimd.decreases();
  }

  /** When the current lowered spell began (clock millis), 0 when not lowered. */
  long loweredSinceMs() {
    return aimd == null ? 0 : aimd.loweredSinceMs();
  }

  /**
   * Called before the chain runs: while lowered, waits until fewer handlers run than the lowered
   * capacity. Returns whether the caller must call {@link #exit()}.
   */
  boolean enter() throws InterruptedException {
    if (limit == Aimd.NONE) {
      return false;
    }
    synchronized (gate) {
      while (running >= limit) {
        gate.wait(100); // the limit can grow without a handler finishing
      }
      running++;
    }
    return true;
  }

  /** Called after the chain ran, if {@link #enter()} returned true. */
  void exit() {
    synchronized (gate) {
      running--;
      gate.notifyAll();
    }
  }

  /**
   * The handler chain threw {@code failure}: if it is (or wraps) a pushback, lowers the capacity,
   * holds {@code m} and has {@code retry} run it again after the delay, and returns true (when the
   * timer no longer runs, at shutdown, it NAKs {@code m} with the delay and {@code release}s it
   * instead); otherwise returns false and does nothing.
   */
  boolean pushedBack(Message m, Throwable failure, Runnable retry, Consumer<Message> release) {
    DownstreamOverloadedException o = DownstreamOverloadedException.find(failure);
    if (o == null) {
      return false;
    }
    pushbacks.incrementAndGet();
    metrics.count("sluice.worker.pushbacks");
    if (aimd != null) {
      int nom = nominal.getAsInt();
      if (aimd.pushback(nom, clock.millis())) {
        limit = aimd.capacity(nom);
        LOG.info(
            "downstream overloaded ({}): capacity lowered by pushback to {} of {}",
            o.getMessage(),
            limit,
            nom);
      }
    }
    Held h = held.computeIfAbsent(m, k -> new Held());
    long now = clock.nanos();
    synchronized (h) {
      h.pushbacks++;
      int n = h.pushbacks;
      Duration delay = o.retryAfter().orElseGet(() -> backoff.delay(n));
      h.dueNanos = now + delay.toNanos();
      h.lastProgressNanos = now;
      h.waiting = true;
      try {
        h.retry =
            timer.schedule(
                () -> {
                  synchronized (h) {
                    if (!h.waiting) {
                      return; // given back at shutdown
                    }
                    h.waiting = false;
                  }
                  retry.run();
                },
                delay.toNanos(),
                TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // Shutting down: nothing will run the retry, so the server redelivers it after the delay.
        h.waiting = false;
        nak(m, delay);
        release.accept(m);
      }
    }
    return true;
  }

  private static void nak(Message m, Duration delay) {
    try {
      m.nakWithDelay(delay);
    } catch (RuntimeException ex) {
      LOG.warn("nak failed ({}): the message returns after the ack wait", ex.toString());
    }
  }

  /** {@code m} left the worker's hands; a cheap no-op unless some message pushed back. */
  void settled(Message m) {
    if (!held.isEmpty()) {
      held.remove(m);
    }
  }

  /**
   * The periodic step (on the timer): progress for held messages, and the AIMD increase. Never
   * throws.
   */
  void tick() {
    try {
      long now = clock.nanos();
      for (Map.Entry<Message, Held> e : held.entrySet()) {
        Held h = e.getValue();
        synchronized (h) {
          if (h.waiting && now - h.lastProgressNanos >= progressEveryNanos) {
            h.lastProgressNanos = now;
            e.getKey().inProgress();
          }
        }
      }
      if (aimd != null) {
        long p = processed.getAsLong();
        if (p != lastProcessed) {
          lastProcessed = p;
          aimd.succeeded();
        }
        int nom = nominal.getAsInt();
        aimd.tick(nom, clock.millis(), inHand.getAsInt() == 0);
        int now2 = aimd.lowered() ? aimd.capacity(nom) : Aimd.NONE;
        if (now2 != limit) {
          limit = now2;
          synchronized (gate) {
            gate.notifyAll();
          }
          if (now2 == Aimd.NONE) {
            LOG.info("capacity back to {} (pushback over)", nom);
          }
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("pushback tick failed: {}", e.toString());
    }
  }

  /**
   * Shutdown: gives back every held message at once, NAKed with what is left of its delay (a NAK
   * counts a delivery, as every shutdown NAK does); {@code release} frees its slot.
   */
  void releaseHeld(Consumer<Message> release) {
    long now = clock.nanos();
    for (Map.Entry<Message, Held> e : held.entrySet()) {
      Message m = e.getKey();
      Held h = e.getValue();
      long left;
      synchronized (h) {
        if (!h.waiting) {
          continue; // running: shutdown treats it as any running handler
        }
        h.waiting = false;
        h.retry.cancel(false);
        left = Math.max(0, h.dueNanos - now);
      }
      nak(m, Duration.ofNanos(left));
      release.accept(m);
    }
  }

  /** Messages waiting for their retry now. */
  int waitingCount() {
    int n = 0;
    for (Held h : held.values()) {
      synchronized (h) {
        n += h.waiting ? 1 : 0;
      }
    }
    return n;
  }
}
