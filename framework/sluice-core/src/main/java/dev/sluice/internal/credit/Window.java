package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.WorkerState;
import java.util.Collection;

/** The window W and liveness rules (protocol §5.1, §5.2, §6). */
public final class Window {
  private Window() {}

  public static boolean live(CapacityAdvert a, long nowMs) {
    return a.getHeartbeatUnixMs() + a.getTtlMs() >= nowMs;
  }

  public static boolean live(ProducerReport r, long nowMs) {
    return r.getHeartbeatUnixMs() + r.getTtlMs() >= nowMs;
  }

  /**
   * {@code max(standing, min(max_window, Σ min(capacity, max_worker_capacity)))} over live RUNNING
   * adverts, with the bounds of {@code qc} (§5.1 [v1.1]).
   */
  public static long window(QueueConfig qc, Collection<CapacityAdvert> adverts, long nowMs) {
    long total = 0;
    for (CapacityAdvert a : adverts) {
      if (live(a, nowMs) && a.getState() == WorkerState.WORKER_STATE_RUNNING) {
        total += Math.min(a.getCapacity(), qc.maxWorkerCapacity());
      }
    }
    return Math.max(qc.standingBuffer(), Math.min(qc.maxWindow(), total));
  }

  /** The window with the default bounds and {@code standingBuffer}. */
  public static long window(int standingBuffer, Collection<CapacityAdvert> adverts, long nowMs) {
    QueueConfig d = QueueConfig.defaults();
    return window(
        new QueueConfig(d.tokenBatch(), standingBuffer, d.maxWorkerCapacity(), d.maxWindow()),
        adverts,
        nowMs);
  }

  /**
   * Live adverts whose capacity or owed credits exceed {@code qc}'s per-worker bound: the ones the
   * window clamps (a misconfigured or forged advert).
   */
  public static long clampedCount(QueueConfig qc, Collection<CapacityAdvert> adverts, long nowMs) {
    return adverts.stream().filter(a -> live(a, nowMs) && exceeds(qc, a)).count();
  }

  /** Whether {@code a} claims more capacity or owed credits than one worker may. */
  public static boolean exceeds(QueueConfig qc, CapacityAdvert a) {
    return a.getCapacity() > qc.maxWorkerCapacity() || a.getOwedCredits() > qc.maxWorkerCapacity();
  }

  /** {@code a}'s owed credits, at most the per-worker bound. */
  public static long owed(QueueConfig qc, CapacityAdvert a) {
    return Math.min(a.getOwedCredits(), qc.maxWorkerCapacity());
  }

  public static long liveCount(Collection<CapacityAdvert> adverts, long nowMs) {
    return adverts.stream().filter(a -> live(a, nowMs)).count();
  }
}
