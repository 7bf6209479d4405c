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

  /** {@code max(standing, Σ capacity of live RUNNING adverts)}. */
  public static long window(int standingBuffer, Collection<CapacityAdvert> adverts, long nowMs) {
    long total = 0;
    for (CapacityAdvert a : adverts) {
      if (live(a, nowMs) && a.getState() == WorkerState.WORKER_STATE_RUNNING) {
        total += a.getCapacity();
      }
    }
    return Math.max(standingBuffer, total);
  }

  public static long liveCount(Collection<CapacityAdvert> adverts, long nowMs) {
    return adverts.stream().filter(a -> live(a, nowMs)).count();
  }
}
