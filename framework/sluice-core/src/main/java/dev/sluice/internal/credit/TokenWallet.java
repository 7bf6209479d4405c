package dev.sluice.internal.credit;

import dev.sluice.SluiceException;
import dev.sluice.internal.credit.WalletPort.Holdings;
import dev.sluice.internal.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;

/**
 * A producer's held credit tokens and the sends waiting for a credit (protocol §6.3, §6.4, §6.6,
 * §6.7): serves waiters in arrival order, reserves and refunds single credits, and in {@link
 * #settle()} reports then acks spent tokens, returns idle ones and extends the lease of the rest.
 * It reads time only from the injected {@link Clock} and reaches the server only through {@link
 * HeldToken} and {@link WalletPort}, so it is unit-tested with a fake clock. Thread-safe.
 *
 * <p>Waiting sends are kept in a {@link WaitQueue}: one FIFO queue until a send has a fairness key
 * (§15.3), then weighted max-min fair order across keys.
 */
public final class TokenWallet {

  /** One reserved credit, handed to a send and given back with {@link #release}. */
  public static final class Credit {
    private final Held from;

    private Credit(Held from) {
      this.from = from;
    }
  }

  private static final class Held {
    final HeldToken token;
    int spent; // reserved credits: stored publishes and those in flight
    int inFlight; // reserved for a publish still in progress
    long lastUsed;

    Held(HeldToken token, long now) {
      this.token = token;
      this.lastUsed = now;
    }

    int unspent() {
      return token.value() - spent;
    }
  }

  private record Waiter(CompletableFuture<Credit> future, long deadline) {}

  /** What one settle round does, chosen under the lock and carried out without it. */
  private static final class Round {
    final List<Waiter> expired = new ArrayList<>();
    final List<Held> ack = new ArrayList<>();
    final List<Held> nak = new ArrayList<>();
    boolean extend;
  }

  private final Clock clock;
  private final long leaseNanos;
  private final long idleReturnNanos;
  private final java.util.concurrent.atomic.AtomicLong returnedUnspent =
      new java.util.concurrent.atomic.AtomicLong();
  private final WalletPort port;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition noneInFlight = lock.newCondition();
  private final WaitQueue<Waiter> waiters;
  private final List<Held> held = new ArrayList<>();
  private boolean closed;
  private boolean settlePending;
  private boolean lastReportNonEmpty;
  private long lastLeaseExtend;

  /**
   * @param lease the credit consumer's ack wait: held tokens get AckProgress every lease / 3
   * @param idleReturn how long a token with no waiting send is kept before it goes back
   */
  public TokenWallet(Clock clock, Duration lease, Duration idleReturn, WalletPort port) {
    this(clock, lease, idleReturn, port, k -> 1);
  }

  /**
   * @param weights a fairness key's weight (at least 1; the empty key is sends without a key)
   */
  public TokenWallet(
      Clock clock,
      Duration lease,
      Duration idleReturn,
      WalletPort port,
      ToIntFunction<String> weights) {
    this.waiters = new WaitQueue<>(weights);
    this.clock = clock;
    this.leaseNanos = lease.toNanos();
    this.idleReturnNanos = idleReturn.toNanos();
    this.port = port;
    this.lastLeaseExtend = clock.nanos();
  }

  /**
   * A credit: at once if a held token has one and no send waits before this one; otherwise when a
   * token arrives (waiters are served in arrival order), or failed with {@link
   * WalletPort#timedOut()} by the first {@link #settle()} after {@code deadlineNanos} (a {@link
   * Clock#nanos()} reading). Fails with {@link SluiceException} once closed.
   */
  public CompletableFuture<Credit> acquire(long deadlineNanos) {
    return acquire(deadlineNanos, null);
  }

  /**
   * As {@link #acquire(long)}, for a send with fairness key {@code key} (null: none). Waiting sends
   * are served in weighted max-min fair order across keys, arrival order within a key (§15.3).
   */
  public CompletableFuture<Credit> acquire(long deadlineNanos, String key) {
    List<Runnable> after = new ArrayList<>();
    CompletableFuture<Credit> f;
    boolean uncovered;
    lock.lock();
    try {
      if (closed) {
        return CompletableFuture.failedFuture(new SluiceException("the producer is closed"));
      }
      waiters.arriving(key);
      if (waiters.size() == 0) {
        Held h = reserve();
        if (h != null) {
          waiters.grantedAtOnce(key);
          return CompletableFuture.completedFuture(new Credit(h));
        }
      }
      Waiter w = new Waiter(new CompletableFuture<>(), deadlineNanos);
      waiters.add(key, w);
      f = w.future();
      serveWaiters(after);
      uncovered = waitingLocked() > unspentLocked();
    } finally {
      lock.unlock();
    }
    after.forEach(Runnable::run);
    if (uncovered) {
      port.demandChanged();
    }
    return f;
  }

  /** Holds a token just received and serves waiters from it; a closed wallet NAKs it at once. */
  public void add(HeldToken token) {
    List<Runnable> after = new ArrayList<>();
    lock.lock();
    try {
      if (closed) {
        after.add(token::nak);
      } else {
        held.add(new Held(token, clock.nanos()));
        serveWaiters(after);
      }
    } finally {
      lock.unlock();
    }
    after.forEach(Runnable::run);
  }

  /**
   * Gives back a credit after its publish: {@code refund} when the message was definitely not
   * stored (the credit is available again), otherwise it stays spent; a token spent to the last
   * credit asks for a settle at once.
   */
  public void release(Credit credit, boolean refund) {
    Held h = credit.from;
    // Runs once per send: nothing allocated unless a refund may wake a waiter.
    List<Runnable> after = refund ? new ArrayList<>() : List.of();
    boolean settle = false;
    lock.lock();
    try {
      h.inFlight--;
      if (refund) {
        h.spent--;
        serveWaiters(after);
      }
      if (h.inFlight == 0 && h.unspent() == 0 && !settlePending) {
        settlePending = true;
        settle = true;
      }
      // While this token has publishes in flight, none of the others' can end the wait.
      if (h.inFlight == 0 && noneInFlightLocked()) {
        noneInFlight.signalAll();
      }
    } finally {
      lock.unlock();
    }
    after.forEach(Runnable::run);
    if (settle) {
      port.settleSoon();
    }
  }

  /** Sends waiting that the unspent held credits do not cover (negative when over-covered). */
  public long uncovered() {
    lock.lock();
    try {
      return waitingLocked() - unspentLocked();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Unspent credits of partly spent tokens acked on their return since the wallet was made: credits
   * taken out of circulation for the reconciler to mint back (§6.7).
   */
  public long returnedUnspent() {
    return returnedUnspent.get();
  }

  /** Unspent credits in held tokens. */
  public long unspent() {
    return holdings().unspent();
  }

  /** Sends waiting for a credit. */
  public int waiting() {
    return holdings().waiting();
  }

  /** The current holdings, as a report would state them. */
  public Holdings holdings() {
    lock.lock();
    try {
      int spent = 0;
      int unspent = 0;
      int inFlight = 0;
      for (Held h : held) {
        spent += h.spent - h.inFlight; // stored only (§6.1 [v1.3])
        unspent += h.unspent();
        inFlight += h.inFlight;
      }
      return new Holdings(spent, unspent, waitingLocked(), inFlight);
    } finally {
      lock.unlock();
    }
  }

  /**
   * The fairness keys with the most sends waiting, then the most credits granted (at most {@code
   * limit}); empty while no send has had a key.
   */
  public List<FairQueue.KeyState> fairnessKeys(int limit) {
    lock.lock();
    try {
      return waiters.keys(limit);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Housekeeping, run every report interval and when {@link WalletPort#settleSoon()} asks: fails
   * waiters past their deadline; returns idle tokens (unspent: NAK; partly spent: report, then ack,
   * leaving the unspent rest to the reconciler, §6.7 [v1.1]) and, once closed, every token;
   * reports; acks fully spent tokens after the report; sends AckProgress on held tokens every lease
   * / 3. A producer never publishes tokens: a producer role may not raise the window.
   *
   * @throws Exception when the report failed: what was not reported is not acked, it stays held,
   *     and the next call tries again
   */
  public void settle() throws Exception {
    Round r = chooseRound(clock.nanos());
    if (!r.expired.isEmpty()) {
      RuntimeException timedOut = port.timedOut();
      r.expired.forEach(w -> w.future().completeExceptionally(timedOut));
    }
    Holdings holdings = holdings();
    boolean anything = !r.ack.isEmpty() || !r.nak.isEmpty() || !holdings.empty();
    if (anything || lastReportNonEmpty) {
      try {
        port.report(holdings);
      } catch (Exception e) {
        // Not reported, so not acked: hold them again.
        r.ack.forEach(this::putBack);
        r.nak.forEach(this::putBack);
        throw e;
      }
      lastReportNonEmpty = anything;
    }
    for (Held h : r.ack) {
      h.token.ack();
      returnedUnspent.addAndGet(h.unspent());
    }
    r.nak.forEach(h -> h.token.nak());
    if (r.extend) {
      heldTokens().forEach(HeldToken::extendLease);
    }
  }

  private Round chooseRound(long now) {
    Round r = new Round();
    lock.lock();
    try {
      settlePending = false;
      r.expired.addAll(waiters.removeIf(w -> now > w.deadline() || w.future().isDone()));
      for (Iterator<Held> it = held.iterator(); it.hasNext(); ) {
        Held h = it.next();
        boolean idle = closed || (waitingLocked() == 0 && now - h.lastUsed > idleReturnNanos);
        if (h.inFlight > 0 || (h.unspent() > 0 && !idle)) {
          continue;
        }
        it.remove();
        // Partly spent: acked after the report that excludes it; the unspent rest is a deficit
        // the reconciler mints (§6.7 [v1.1]).
        (h.spent == 0 && h.unspent() > 0 ? r.nak : r.ack).add(h);
      }
      r.extend = now - lastLeaseExtend > leaseNanos / 3;
      if (r.extend) {
        lastLeaseExtend = now;
      }
      return r;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops serving: later acquires fail, waiting sends fail with a {@link SluiceException} saying
   * {@code why}, tokens added later are NAKed, and the next {@link #settle()} returns every held
   * token that has no publish in flight.
   */
  public void close(String why) {
    List<Waiter> left;
    lock.lock();
    try {
      closed = true;
      left = waiters.clear();
    } finally {
      lock.unlock();
    }
    left.forEach(w -> w.future().completeExceptionally(new SluiceException(why)));
  }

  /**
   * Blocks until no reserved credit is in flight (its publish not yet released), or {@code timeout}
   * passes; {@link #release} signals it.
   *
   * @return whether nothing is in flight
   * @throws InterruptedException when interrupted while waiting
   */
  public boolean awaitNoneInFlight(Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (!noneInFlightLocked()) {
        if (left <= 0) {
          return false;
        }
        left = noneInFlight.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  private List<HeldToken> heldTokens() {
    lock.lock();
    try {
      return held.stream().map(h -> h.token).toList();
    } finally {
      lock.unlock();
    }
  }

  private void putBack(Held h) {
    lock.lock();
    try {
      held.add(h);
    } finally {
      lock.unlock();
    }
  }

  /** Takes one credit from a held token, oldest first; null when none is left. Under lock. */
  private Held reserve() {
    for (Held h : held) {
      if (h.unspent() > 0) {
        h.spent++;
        h.inFlight++;
        h.lastUsed = clock.nanos();
        return h;
      }
    }
    return null;
  }

  /** Hands credits to waiters in arrival order; completions run after the lock is released. */
  private void serveWaiters(List<Runnable> after) {
    while (waitingLocked() > 0) {
      Held h = reserve();
      if (h == null) {
        return;
      }
      Waiter w = waiters.poll();
      Credit c = new Credit(h);
      after.add(
          () -> {
            if (!w.future().complete(c)) {
              release(c, true); // the send gave up (timed out or cancelled) meanwhile
            }
          });
    }
  }

  private int waitingLocked() {
    return waiters.size();
  }

  private long unspentLocked() {
    long n = 0;
    for (Held h : held) {
      n += h.unspent();
    }
    return n;
  }

  private boolean noneInFlightLocked() {
    for (Held h : held) { // a plain loop: this runs once per send
      if (h.inFlight != 0) {
        return false;
      }
    }
    return true;
  }
}
