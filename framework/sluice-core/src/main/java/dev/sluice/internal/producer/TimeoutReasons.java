package dev.sluice.internal.producer;

import dev.sluice.CreditTimeoutException;
import dev.sluice.CreditTimeoutException.Reason;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.wire.Protocol;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * Why a send got no credit in time (protocol §6.8), as an exception whose message says what to do.
 * Pure: it reads only its arguments.
 */
final class TimeoutReasons {
  private TimeoutReasons() {}

  /**
   * The reason for a send that waited {@code waited} for a credit.
   *
   * @param hitHardLimit the last publish met the work stream's hard limit (§6.5)
   * @param standingBuffer the queue's standing buffer (§5.1)
   * @param adverts every advert in view, live or not
   * @param nowMs the wall clock, for advert liveness
   */
  static CreditTimeoutException explain(
      String queue,
      Duration waited,
      boolean hitHardLimit,
      int standingBuffer,
      Collection<CapacityAdvert> adverts,
      long nowMs) {
    if (hitHardLimit) {
      return new CreditTimeoutException(
          Reason.STREAM_AT_HARD_LIMIT,
          "queue " + queue + ": the work stream is at its hard limit (max_msgs)");
    }
    List<CapacityAdvert> live = adverts.stream().filter(a -> Window.live(a, nowMs)).toList();
    String prefix = "no credit for queue " + queue + " within " + waited + ": ";
    if (live.isEmpty()) {
      return new CreditTimeoutException(
          Reason.NO_LIVE_WORKERS,
          prefix
              + "no live workers advertise capacity for queue "
              + queue
              + (standingBuffer > 0
                  ? " and its standing buffer of " + standingBuffer + " is in use"
                  : " and it has no standing buffer")
              + ". Start a worker for the queue (or provision a standing buffer).");
    }
    long window = Window.window(standingBuffer, live, nowMs);
    if (window == 0) {
      return new CreditTimeoutException(
          Reason.NO_LIVE_WORKERS,
          prefix
              + live.size()
              + " worker(s) are live but none advertises capacity (circuit open, draining, or"
              + " failing): check the workers' health and logs");
    }
    return new CreditTimeoutException(
        Reason.ALL_CREDITS_IN_USE,
        prefix
            + "all "
            + window
            + " credits of the window ("
            + live.size()
            + " live worker(s)) are in the backlog or held by producers. The workers are slower"
            + " than the producers: add workers, raise their capacity, or wait longer.");
  }

  /** A publish kept meeting the hard limit until its send's acquire deadline (§6.5). */
  static CreditTimeoutException stayedAtHardLimit(String queue) {
    return new CreditTimeoutException(
        Reason.STREAM_AT_HARD_LIMIT,
        "work stream "
            + Protocol.workStream(queue)
            + " is at its hard limit (max_msgs) and stayed there for the acquire timeout:"
            + " a publisher is ignoring credits, or the limit is below the window");
  }
}
