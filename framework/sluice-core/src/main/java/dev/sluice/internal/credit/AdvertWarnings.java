package dev.sluice.internal.credit;

import dev.sluice.internal.proto.CapacityAdvert;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the reconciler warns about in the adverts it reads, once each (§5.1, §15.2): an advert above
 * the per-worker bound, which is counted clamped, and a worker that replenishes without the queue's
 * rate. Logged under the reconciler's name. Not thread-safe: the reconciler's thread only.
 */
final class AdvertWarnings {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

  private final String queue;
  private final Set<String> clampedSeen = new HashSet<>();
  private final Set<String> unlimitedSeen = new HashSet<>();

  AdvertWarnings(String queue) {
    this.queue = queue;
  }

  /**
   * Live RUNNING workers that replenish without the rate (revision 1.2 or earlier, §15.2); each is
   * logged once: the queue's rate is not enforced while one of them finishes messages.
   */
  int unlimitedWorkers(List<CapacityAdvert> ads, long now) {
    int n = 0;
    for (CapacityAdvert a : ads) {
      if (Rates.unlimited(a, now)) {
        n++;
        if (unlimitedSeen.add(a.getWorkerId())) {
          LOG.warn(
              "queue {}: worker {} ({}, protocol revision before 1.3) does not mint within the"
                  + " queue's rate limit: the credits it replenishes are not limited, so the"
                  + " queue can run above its rate; upgrade it or stop it",
              queue,
              a.getWorkerId(),
              a.getLanguage().isEmpty() ? "unknown language" : a.getLanguage());
        }
      }
    }
    return n;
  }

  /** Logs an advert above the per-worker bound once per worker and claimed value. */
  void warnIfClamped(QueueConfig bounds, CapacityAdvert a) {
    if (!Window.exceeds(bounds, a)) {
      return;
    }
    String seen = a.getWorkerId() + "/" + a.getCapacity() + "/" + a.getOwedCredits();
    if (clampedSeen.add(seen)) {
      LOG.warn(
          "queue {}: worker {} advertises capacity {} and owed {}, above max_worker_capacity {}:"
              + " counting {} (check the worker's settings, or who may write sluice-capacity)",
          queue,
          a.getWorkerId(),
          a.getCapacity(),
          a.getOwedCredits(),
          bounds.maxWorkerCapacity(),
          bounds.maxWorkerCapacity());
    }
  }
}
