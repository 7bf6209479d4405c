package dev.sluice.conformance;

import dev.sluice.Sluice;
import dev.sluice.WorkerAdvert;
import java.util.List;
import java.util.Optional;

/**
 * Reads Sluice's control-plane records (worker capacity adverts, credit tokens) through the
 * library's public read model ({@link Sluice#inspect}, {@link Sluice#creditTokens}): the one class
 * of the runner that knows it, so the checks see only the plain records below.
 */
final class ControlPlane {
  private ControlPlane() {}

  /** One handled type range of an advert. */
  record Handled(String type, int minVersion, int maxVersion) {}

  /** A worker's capacity advert (§5.2), as far as the checks need it. */
  record Advert(
      String workerId,
      int capacity,
      boolean running,
      String state,
      long heartbeatUnixMs,
      long ttlMs,
      String language,
      int tokenBatch,
      List<Handled> handled,
      String problem,
      long nominalCapacity,
      long pushbacks) {

    /** §15.1: running with a capacity below the one it would advertise without pushback. */
    boolean loweredByPushback() {
      return running && capacity < nominalCapacity;
    }

    /** Live at {@code nowMs}: the heartbeat plus the TTL has not passed. */
    boolean liveAt(long nowMs) {
      return heartbeatUnixMs + ttlMs >= nowMs;
    }
  }

  /**
   * The advert of {@code workerId} on {@code queue} in the {@code sluice-capacity} bucket; empty
   * when there is none (or it was deleted). Throws what the read throws.
   */
  static Optional<Advert> advert(Sluice sluice, String queue, String workerId) {
    return sluice.inspect(queue).workers().stream()
        .filter(a -> a.workerId().equals(workerId))
        .findFirst()
        .map(ControlPlane::advert);
  }

  private static Advert advert(WorkerAdvert a) {
    return new Advert(
        a.workerId(),
        (int) a.capacity(),
        a.state() == WorkerAdvert.State.RUNNING,
        a.state().toString(),
        a.heartbeatAt().toEpochMilli(),
        a.ttl().toMillis(),
        a.language(),
        a.tokenBatch(),
        a.handled().stream()
            .map(h -> new Handled(h.type(), h.minVersion(), h.maxVersion()))
            .toList(),
        a.problem(),
        a.pushback().nominalCapacity(),
        a.pushback().pushbacksTotal());
  }

  /**
   * Every stored token of {@code queue} (up to {@code max}): sequence, value, minter and reason.
   */
  static String tokenDump(Sluice sluice, String queue, int max) {
    try {
      return String.join(
          ", ",
          sluice.creditTokens(queue, max).stream()
              .map(
                  t ->
                      "#"
                          + t.sequence()
                          + " "
                          + t.credits()
                          + " by "
                          + t.mintedBy()
                          + "/"
                          + t.reason())
              .toList());
    } catch (RuntimeException e) {
      return e.toString();
    }
  }
}
