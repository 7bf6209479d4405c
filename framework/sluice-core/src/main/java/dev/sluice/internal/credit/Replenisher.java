package dev.sluice.internal.credit;

import dev.sluice.internal.proto.MintReason;
import java.time.Duration;
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
 * the message it replaces has left the backlog. Thread-safe; confirming and minting run on one
 * scheduler thread.
 */
public final class Replenisher {
  private static final Logger LOG = LoggerFactory.getLogger(Replenisher.class);

  private final TokenMinter minter;
  private final int batch;
  private final ScheduledExecutorService scheduler;
  private final DoubleSupplier serviceRate;
  private final java.util.function.IntSupplier capacity;
  private final Confirmer confirmer;
  private final Debt debt;
  private final AtomicLong unconfirmed = new AtomicLong();
  private long confirmedUpTo;
  private final AtomicLong owed = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private boolean lingerScheduled;
  private boolean flushScheduled;

  /** Confirms every finishing ack sent so far; returns how many finishes had been sent. */
  @FunctionalInterface
  public interface Confirmer {
    long confirmSent() throws Exception;
  }

  public Replenisher(
      TokenMinter minter,
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
    int half = Math.max(1, capacity.getAsInt() / 2);
    return Math.min(batch, Integer.highestOneBit(half));
  }

  /** One finishing ack was sent: one credit is owed once the server confirms it. */
  public void finished() {
    completed.incrementAndGet();
    long now = unconfirmed.incrementAndGet() + owed.get();
    synchronized (this) {
      if (now >= effectiveBatch() && !flushScheduled) {
        flushScheduled = true;
        scheduler.execute(() -> flush(false));
      } else if (!lingerScheduled) {
        lingerScheduled = true;
        scheduler.schedule(() -> flush(true), linger().toNanos(), TimeUnit.NANOSECONDS);
      }
    }
  }

  /** About the time this worker takes to finish a batch: {@code clamp(b' / rate, 2 ms, 20 ms)}. */
  Duration linger() {
    double rate = serviceRate.getAsDouble();
    double ms = rate > 0 ? effectiveBatch() / rate * 1000 : 20;
    return Duration.ofMillis((long) Math.max(2, Math.min(20, ms)));
  }

  private void flush(boolean all) {
    synchronized (this) {
      if (all) {
        lingerScheduled = false;
      } else {
        flushScheduled = false;
      }
    }
    try {
      confirm();
      long n = owed.get();
      int b = effectiveBatch();
      long toMint = all ? n : (n / b) * b;
      if (toMint > 0) {
        mintOrWithhold(toMint, b);
      }
      if (!all && owed.get() > 0) {
        synchronized (this) {
          if (!lingerScheduled) {
            lingerScheduled = true;
            scheduler.schedule(() -> flush(true), linger().toNanos(), TimeUnit.NANOSECONDS);
          }
        }
      }
    } catch (Exception e) {
      LOG.warn("could not mint owed credits ({} owed): {}; retrying", owed.get(), e.toString());
      synchronized (this) {
        if (!lingerScheduled && !scheduler.isShutdown()) {
          lingerScheduled = true;
          scheduler.schedule(() -> flush(true), 500, TimeUnit.MILLISECONDS);
        }
      }
    }
  }

  /** Mints {@code n} owed credits, less what the reconciler's debt withholds (§5.5). */
  private void mintOrWithhold(long n, int b) throws Exception {
    long burn = debt.withhold(n);
    if (n > burn) {
      minter.mint(n - burn, b, MintReason.MINT_REASON_REPLENISH);
    }
    owed.addAndGet(-n);
  }

  /** Moves the finishes the server has now confirmed from unconfirmed to owed. */
  private void confirm() throws Exception {
    if (unconfirmed.get() == 0) {
      return;
    }
    long sent = confirmer.confirmSent();
    long fresh;
    synchronized (this) {
      fresh = Math.max(0, sent - confirmedUpTo);
      confirmedUpTo = Math.max(confirmedUpTo, sent);
    }
    unconfirmed.addAndGet(-fresh);
    owed.addAndGet(fresh);
  }

  /** Mints everything owed now (shutdown); returns false if some could not be minted. */
  public boolean flushAll() {
    try {
      confirm();
      long n = owed.get();
      if (n > 0) {
        mintOrWithhold(n, batch);
      }
      return true;
    } catch (Exception e) {
      LOG.warn("could not mint {} owed credits at shutdown: {}", owed.get(), e.toString());
      return false;
    }
  }

  /** Finished messages whose credit is not minted yet (confirmed or not). */
  public long owed() {
    return owed.get() + unconfirmed.get();
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
