package dev.sluice.internal.credit;

import dev.sluice.internal.proto.MintReason;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mints the credits a worker owes for finished messages (protocol §5.4): whole batch tokens at
 * once, the rest after a linger of about {@code batch / service rate}. Finishing acks are sent
 * plain; before minting, one double ack (an ack with a reply, on the last finished message)
 * confirms every ack sent before it on the worker's connection, so a credit is never minted before
 * the message it replaces has left the backlog.
 *
 * <p>Confirming and minting are pipelined: a confirm is sent without waiting for its answer (by the
 * thread that reports the finish that completes a batch, or by the previous confirm's answer), and
 * the credits it covers are minted on the scheduler thread when the answer arrives; while they are
 * minted, the next confirm may already be in flight. At most one confirm is in flight. Reporting a
 * finished message ({@link #finished}) never blocks and takes no lock unless it starts a round.
 * Thread-safe; minting runs on one scheduler thread.
 */
public final class Replenisher {
  private static final Logger LOG = LoggerFactory.getLogger(Replenisher.class);
  private static final long RETRY_MS = 500;
  private static final long CONFIRM_WAIT_S = 10;

  private final Minter minter;
  private final int batch;
  private final ScheduledExecutorService scheduler;
  private final DoubleSupplier serviceRate;
  private final java.util.function.IntSupplier capacity;
  private final Confirmer confirmer;
  private final Debt debt;
  private volatile RateGate rate = new RateGate();
  private final AtomicLong unconfirmed = new AtomicLong();

  /**
   * Held while credits move between "owed" and "minted" (a mint or a withholding, and the decrement
   * of what it took), so that {@link #consistently} reads the owed credits and the credit stream in
   * one state. Only the replenisher's own thread and the reconciler take it, never a connection
   * thread (the reconciler waits on the connection while holding it).
   */
  private final Object ledgerLock = new Object();

  private final AtomicLong owed = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();

  /** Finishes the server confirmed so far (the confirmer's count). Guarded by {@code this}. */
  private long confirmedUpTo;

  /**
   * Nonzero while a linger round is not done: every finish reported up to this count is to be
   * minted, partial batch or not. Guarded by {@code this}.
   */
  private long lingerUpTo;

  private volatile boolean confirming;
  private volatile boolean lingerScheduled;

  /** Publishes replenished credit tokens; {@link TokenMinter} on a live worker. */
  public interface Minter {
    /** Mints {@code credits} decomposed with {@code batch}; returns when the server stored them. */
    void mint(long credits, int batch, MintReason reason) throws IOException;

    /** Credits minted so far. */
    long mintedTotal();
  }

  /** Confirms every finishing ack sent so far. */
  @FunctionalInterface
  public interface Confirmer {
    /**
     * Sends one double ack after every finishing ack sent so far; completes, once the server has
     * answered, with how many finishes had been sent before it (all of them now confirmed).
     */
    CompletableFuture<Long> confirmSent();

    /**
     * Runs {@code read} while no finishing ack is sent, once the server has taken every ack sent
     * before (their messages are out of the backlog), and with every one of them reported through
     * {@link #finished}: an audit's reading of the backlog (§5.5 [v1.3]). This default confirms but
     * holds nothing back; a worker's settler, which sends the acks, holds them.
     */
    default <T> T confirmedAndHeld(Callable<T> read) throws Exception {
      confirmSent().get(CONFIRM_WAIT_S, TimeUnit.SECONDS);
      return read.call();
    }
  }

  public Replenisher(
      Minter minter,
      int batch,
      ScheduledExecutorService scheduler,
      DoubleSupplier rate,
      java.util.function.IntSupplier capacity,
      Confirmer confirmer,
      Debt debt) {
    this.confirmer = confirmer;
    this.debt = debt;
    this.minter = minter;
    this.batch = batch;
    this.scheduler = scheduler;
    this.serviceRate = rate;
    this.capacity = capacity;
  }

  /**
   * The carry threshold: the queue's token batch, but never more than half this worker's capacity
   * (rounded down to a power of two). A worker that can never owe a whole batch would otherwise
   * wait out the linger every round, and its measured rate, and so its throughput, would collapse.
   */
  public int effectiveBatch() {
    return Credits.effectiveBatch(batch, capacity.getAsInt());
  }

  /**
   * One finishing ack was sent: one credit is owed once the server confirms it. A whole batch sends
   * its confirm from here, on the thread that sent the ack and right behind it: a double ack is a
   * publish and never blocks, and handing it to the scheduler thread would add that thread's
   * wake-up to every grant (and often a write of its own).
   */
  public void finished() {
    completed.incrementAndGet();
    long now = unconfirmed.incrementAndGet();
    // A confirm in flight starts the next one itself when it returns (it reads unconfirmed after
    // clearing the flag, so this increment is not missed).
    if (now >= effectiveBatch() && !confirming) {
      startConfirm();
    } else if (!lingerScheduled) {
      scheduleLinger(linger().toNanos());
    }
  }

  /** About the time this worker takes to finish a batch: {@code clamp(b' / rate, 2 ms, 20 ms)}. */
  Duration linger() {
    return Duration.ofMillis(Credits.lingerMillis(effectiveBatch(), serviceRate.getAsDouble()));
  }

  private void scheduleLinger(long nanos) {
    synchronized (this) {
      if (lingerScheduled || scheduler.isShutdown()) {
        return;
      }
      lingerScheduled = true;
    }
    try {
      scheduler.schedule(this::lingerRound, nanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      lingerScheduled = false; // shutting down: flushAll mints what is owed
    }
  }

  /** A linger round: confirm what is sent, mint everything confirmed up to now. */
  private void lingerRound() {
    synchronized (this) {
      lingerScheduled = false;
      lingerUpTo = Math.max(lingerUpTo, completed.get());
    }
    startConfirm();
    mintOwed();
  }

  /** Sends a confirm for the finishes sent so far, unless one is in flight or none is needed. */
  private void startConfirm() {
    synchronized (this) {
      if (confirming || unconfirmed.get() == 0) {
        return;
      }
      confirming = true;
    }
    CompletableFuture<Long> f;
    try {
      f = confirmer.confirmSent();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(this::confirmed);
  }

  /** The server answered a confirm (any thread): account for it, then mint on the scheduler. */
  private void confirmed(Long sent, Throwable err) {
    if (err == null) {
      long fresh;
      synchronized (this) {
        fresh = Math.max(0, sent - confirmedUpTo);
        confirmedUpTo = Math.max(confirmedUpTo, sent);
      }
      // Owed first: a reading between the two counts these finishes twice (a false surplus,
      // confirmed before anything burns), never nowhere. No lock here: this runs on the
      // connection's thread, which a reconciler holding the lock may be waiting on.
      owed.addAndGet(fresh);
      unconfirmed.addAndGet(-fresh);
    }
    confirming = false;
    if (err != null) {
      LOG.warn("could not confirm finishing acks ({} owed): {}; retrying", owed(), err.toString());
      scheduleLinger(TimeUnit.MILLISECONDS.toNanos(RETRY_MS));
      return;
    }
    try {
      scheduler.execute(this::afterConfirm);
    } catch (RejectedExecutionException e) {
      // shutting down: flushAll mints what is owed
    }
  }

  private void afterConfirm() {
    // A whole batch already waits: its confirm travels while this round's credits are minted.
    // Less than a batch waits for the linger, so confirms do not run back to back.
    if (unconfirmed.get() >= effectiveBatch()) {
      startConfirm();
    }
    mintOwed();
  }

  /** Mints the confirmed credits that are due: whole batches, or everything in a linger round. */
  private void mintOwed() {
    int b = effectiveBatch();
    boolean all;
    synchronized (this) {
      // The remainder below a batch goes out once per linger, when the finishes up to the linger
      // are confirmed; between lingers only whole batches are minted (fewer, larger tokens).
      all = lingerUpTo > 0 && confirmedUpTo >= lingerUpTo;
      if (all) {
        lingerUpTo = 0;
      }
    }
    long n = owed.get();
    long toMint = all ? n : (n / b) * b;
    try {
      if (toMint > 0) {
        mintOrWithhold(toMint, b);
      }
    } catch (Exception e) {
      LOG.warn("could not mint owed credits ({} owed): {}; retrying", owed(), e.toString());
      scheduleLinger(TimeUnit.MILLISECONDS.toNanos(RETRY_MS));
      return;
    }
    if (owed() > 0) {
      scheduleLinger(linger().toNanos());
    }
  }

  /**
   * Mints {@code n} owed credits, less what the reconciler's debt withholds (§5.5) and, while the
   * queue has a rate limit, what this worker's share of the rate does not allow yet (§15.2): that
   * rest stays owed and the next linger round mints it.
   */
  private void mintOrWithhold(long n, int b) throws Exception {
    mintOrWithhold(n, b, true);
  }

  private void mintOrWithhold(long n, int b, boolean paced) throws Exception {
    synchronized (ledgerLock) {
      long burn = debt.withhold(n);
      long mint = n - burn;
      RateGate gate = rate;
      if (paced && mint > 0 && gate.on()) {
        mint = gate.allow(mint, owed.get() - burn, System.nanoTime()); // §15.2
      }
      if (mint > 0) {
        minter.mint(mint, b, MintReason.MINT_REASON_REPLENISH);
      }
      owed.addAndGet(-(burn + mint));
    }
  }

  /** Sets the gate that paces this worker's minting to its share of the queue's rate (§15.2). */
  public void rateGate(RateGate gate) {
    this.rate = gate;
  }

  /** The gate that paces this worker's minting (off while the queue has no rate limit). */
  public RateGate rateGate() {
    return rate;
  }

  /** Mints everything owed now (shutdown); returns false if some could not be minted. */
  public boolean flushAll() {
    try {
      if (unconfirmed.get() > 0) {
        long sent = confirmer.confirmSent().get(CONFIRM_WAIT_S, TimeUnit.SECONDS);
        long fresh;
        synchronized (this) {
          fresh = Math.max(0, sent - confirmedUpTo);
          confirmedUpTo = Math.max(confirmedUpTo, sent);
        }
        owed.addAndGet(fresh);
        unconfirmed.addAndGet(-fresh);
      }
      long n = owed.get();
      if (n > 0) {
        // Not paced: a stopping worker returns what it owes, which the window already counts.
        mintOrWithhold(n, batch, false);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      LOG.warn("interrupted while minting {} owed credits at shutdown", owed());
      return false;
    } catch (Exception e) {
      LOG.warn("could not mint {} owed credits at shutdown: {}", owed(), e.toString());
      return false;
    }
  }

  /** Finished messages whose credit is not minted yet (confirmed or not). */
  public long owed() {
    return owed.get() + unconfirmed.get();
  }

  /** An audit's reading of the backlog B. */
  @FunctionalInterface
  public interface BacklogRead {
    long read() throws Exception;
  }

  /** Reads what a reconciler audit needs from this worker and the credit stream in one state. */
  public interface ConsistentRead<T> {
    T read(long backlog, long owed, long debtPending) throws Exception;
  }

  /**
   * Reads the backlog with this worker's owed credits and pending debt, then runs {@code read} with
   * them, all while no credit moves between owed and minted (or withheld): a token count read
   * inside it agrees with them. The reconciler of this worker reads them live instead of from its
   * advert, which is a heartbeat old (§5.5).
   *
   * <p>The finishing acks are sent plain and the server takes them from a queue: an ack sent a
   * moment ago may leave its message in the backlog, and counted there and as owed it reads as a
   * false surplus as large as that queue (§5.5 [v1.3]). So the backlog is read while this worker
   * sends no finishing ack, once the acks sent before are confirmed (out of the backlog), and the
   * owed credits are taken at the backlog's answer: an ack sent after it is not counted (its
   * message was in the backlog).
   */
  public <T> T consistently(BacklogRead backlog, ConsistentRead<T> read) throws Exception {
    synchronized (ledgerLock) {
      long[] atBacklog = confirmer.confirmedAndHeld(() -> new long[] {backlog.read(), owed()});
      return read.read(atBacklog[0], atBacklog[1], debt.pending());
    }
  }

  /** The credits this worker withholds for the reconciler (§5.5). */
  public Debt debt() {
    return debt;
  }

  public long completed() {
    return completed.get();
  }

  public long minted() {
    return minter.mintedTotal();
  }
}
