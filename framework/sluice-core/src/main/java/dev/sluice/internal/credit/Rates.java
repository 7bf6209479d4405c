package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.WorkerState;
import java.util.Collection;

/**
 * The fleet-wide rate limit's pure rules (protocol §15.2 [v1.3]), pinned by the {@code rate_limit}
 * vectors: each rate-aware worker's share of the rate, its bucket depth, the pacing allowance and
 * the window a rate caps. No I/O, no clock: {@link RateGate} applies them on a worker, {@link
 * Reconciler} and the inspection read the window.
 */
public final class Rates {
  /** Seconds of a worker's share it may mint at once after an idle spell: its bucket depth. */
  public static final double DEPTH_SECONDS = 0.02;

  /** Seconds of the rate the window leaves room for, for minters that run late (§15.2). */
  public static final double PACING_SECONDS = 0.05;

  private Rates() {}

  /** True when {@code perSecond} is a rate limit (a positive finite number); 0 means none. */
  public static boolean limited(double perSecond) {
    return perSecond > 0 && Double.isFinite(perSecond);
  }

  /**
   * Why {@code perSecond} and {@code burst} are not a valid rate limit, or null when they are: the
   * rate must be a finite number above 0, the burst at least 1.
   */
  public static String invalid(double perSecond, long burst) {
    if (Double.isNaN(perSecond) || Double.isInfinite(perSecond)) {
      return "rate must be a finite number of messages per second, got " + perSecond;
    }
    if (perSecond <= 0) {
      return "rate must be above 0 messages per second, got "
          + perSecond
          + " (to remove a rate limit, provision the queue without one)";
    }
    if (burst < 1) {
      return "burst must be at least 1 message, got " + burst;
    }
    return null;
  }

  /**
   * This worker's share of {@code rate}: {@code rate × own / Σ capacity} over the live RUNNING
   * adverts that mint within the rate ({@code rate_limited}), with {@code ownCapacity} counted in
   * place of this worker's own advert. 0 when this worker has no capacity.
   */
  public static double share(
      double rate,
      String ownId,
      long ownCapacity,
      Collection<CapacityAdvert> adverts,
      long nowMs,
      int maxWorkerCapacity) {
    if (!limited(rate) || ownCapacity <= 0) {
      return 0;
    }
    long own = Math.min(ownCapacity, maxWorkerCapacity);
    long total = own;
    for (CapacityAdvert a : adverts) {
      if (!a.getWorkerId().equals(ownId) && rateAware(a, nowMs)) {
        total += Math.min(a.getCapacity(), maxWorkerCapacity);
      }
    }
    return share(rate, own, total);
  }

  /** {@code rate × own / total}; 0 when either is 0. */
  public static double share(double rate, long own, long total) {
    return own <= 0 || total <= 0 ? 0 : rate * own / total;
  }

  /** A live RUNNING advert of a worker that mints within the rate. */
  static boolean rateAware(CapacityAdvert a, long nowMs) {
    return Window.live(a, nowMs)
        && a.getState() == WorkerState.WORKER_STATE_RUNNING
        && a.getRateLimited();
  }

  /** A live RUNNING advert of a worker that replenishes without limit (revision 1.2 or earlier). */
  public static boolean unlimited(CapacityAdvert a, long nowMs) {
    return Window.live(a, nowMs)
        && a.getState() == WorkerState.WORKER_STATE_RUNNING
        && !a.getRateLimited();
  }

  /** The most a worker with {@code share} credits per second may mint at once after idling. */
  public static double depth(double share) {
    return Math.max(1, share * DEPTH_SECONDS);
  }

  /**
   * What the window leaves for minters' pacing: {@code ceil(rate × 0.05) + live workers} (a bucket
   * depth, and a round run late, per worker).
   */
  public static long pacing(double rate, int liveWorkers) {
    return (long) Math.ceil(rate * PACING_SECONDS) + Math.max(0, liveWorkers);
  }

  /**
   * The window while a rate is set: {@code min(W, max(1, burst − pacing))}, so that the credits in
   * circulation plus what minters may mint at once never exceed the burst; {@code window} itself
   * without a rate.
   */
  public static long window(long window, double rate, long burst, int liveWorkers) {
    if (!limited(rate)) {
      return window;
    }
    return Math.min(window, Math.max(1, burst - pacing(rate, liveWorkers)));
  }

  /** Live RUNNING adverts: the workers the pacing allowance counts. */
  public static int running(Collection<CapacityAdvert> adverts, long nowMs) {
    int n = 0;
    for (CapacityAdvert a : adverts) {
      if (Window.live(a, nowMs) && a.getState() == WorkerState.WORKER_STATE_RUNNING) {
        n++;
      }
    }
    return n;
  }
}
