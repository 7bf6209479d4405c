package dev.sluice.internal.credit;

/**
 * One worker's token bucket for the queue's rate limit (protocol §15.2 [v1.3]): the credits this
 * worker may mint at its share of the rate. Accrues {@code share} per second; after a round that
 * left nothing owed (the worker is not held back by the rate) the bucket holds at most {@link
 * Rates#depth}, and while credits wait (owed after a round) it accrues without that cap, so a round
 * run late does not lose the rate it waited for. Off (no rate) it lets everything through without
 * touching a clock. Thread-safe; the minter's thread calls {@link #allow}.
 */
public final class RateGate {
  /** How often a worker recomputes its share from the adverts while a rate is set. */
  static final long SHARE_REFRESH_NANOS = 100_000_000L;

  /** This worker's share of a rate, from the adverts it reads now (§15.2). */
  @FunctionalInterface
  public interface ShareSource {
    double share(double perSecond);
  }

  private final ShareSource source;
  private long shareAtNanos;
  private volatile boolean on;
  private double share;
  private double perSecond;
  private long burst;
  private double allowance;
  private long lastNanos;
  private boolean idle = true;
  private boolean started;
  private long held;

  /** A gate that takes this worker's share from {@code source} while a rate is set. */
  public RateGate(ShareSource source) {
    this.source = source;
  }

  /** A gate whose share is only what {@link #configure} sets (tests). */
  public RateGate() {
    this(null);
  }

  /**
   * Sets the rate in force ({@code perSecond} ≤ 0: none), with this worker's share of it from the
   * share source (or {@code share} without one).
   */
  public void configure(double perSecond, long burst, long nowNanos) {
    double s = source != null && Rates.limited(perSecond) ? source.share(perSecond) : 0;
    configure(perSecond, burst, s, nowNanos);
  }

  /** Sets the rate in force ({@code perSecond} ≤ 0: none) and this worker's share of it. */
  public synchronized void configure(double perSecond, long burst, double share, long nowNanos) {
    boolean limit = Rates.limited(perSecond);
    shareAtNanos = nowNanos;
    if (limit && !on) {
      allowance = Rates.depth(share);
      lastNanos = nowNanos;
      idle = true;
      started = true;
    }
    this.perSecond = limit ? perSecond : 0;
    this.burst = limit ? burst : 0;
    this.share = limit ? Math.max(0, share) : 0;
    this.on = limit;
    if (!limit) {
      held = 0;
    }
  }

  /** True while a rate is set. */
  public boolean on() {
    return on;
  }

  /**
   * Of {@code wanted} credits due to be minted at {@code nowNanos}, how many the rate allows now;
   * the rest stays owed. All of them while no rate is set.
   */
  public long allow(long wanted, long nowNanos) {
    return allow(wanted, wanted, nowNanos);
  }

  /**
   * Of {@code wanted} of the {@code owed} credits this worker owes (a round may ask for whole
   * batches first), how many the rate allows now. The bucket is capped at its depth only after a
   * round that left nothing owed.
   */
  public long allow(long wanted, long owed, long nowNanos) {
    if (!on) {
      return wanted;
    }
    synchronized (this) {
      if (!on) {
        return wanted;
      }
      if (!started) {
        lastNanos = nowNanos;
        started = true;
      }
      if (source != null && nowNanos - shareAtNanos >= SHARE_REFRESH_NANOS) {
        shareAtNanos = nowNanos;
        share = Math.max(0, source.share(perSecond));
      }
      double depth = Rates.depth(share);
      allowance += share * Math.max(0, nowNanos - lastNanos) / 1e9;
      lastNanos = nowNanos;
      if (idle) {
        allowance = Math.min(allowance, depth);
      }
      long m = Math.max(0, Math.min(wanted, (long) Math.floor(allowance)));
      allowance -= m;
      idle = owed - m <= 0;
      if (idle) {
        allowance = Math.min(allowance, depth);
      }
      held = wanted - m;
      return m;
    }
  }

  /** The rate in force, messages per second (0: none). */
  public synchronized double perSecond() {
    return perSecond;
  }

  /** The burst in force (0: none). */
  public synchronized long burst() {
    return burst;
  }

  /** This worker's share of the rate, credits per second (0 without a rate). */
  public synchronized double share() {
    return share;
  }

  /** Credits the last round left owed because of the rate. */
  public synchronized long held() {
    return held;
  }
}
