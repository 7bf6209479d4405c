package dev.sluice.cli;

import dev.sluice.RateLimit;
import dev.sluice.WorkerAdvert;
import java.util.Map;
import java.util.TreeMap;

/**
 * A queue's fleet-wide rate limit (PROTOCOL.md §15.2) in the CLI: the status line, the JSON object
 * of {@code status}, {@code credits} and the console, and the findings of {@code explain}.
 */
final class RateLimits {
  private RateLimits() {}

  /** {@code "rate-limited at 500/s (burst 50)"}, or null without a rate limit. */
  static String line(QueueState st) {
    RateLimit r = st.in.rateLimit().orElse(null);
    if (r == null) {
      return null;
    }
    String s = "rate-limited at " + r.describe();
    if (st.window() < r.capacityWindow()) {
      s += ", window capped to " + st.window() + " of " + r.capacityWindow();
    }
    if (!r.unlimitedWorkers().isEmpty()) {
      s += "; " + r.unlimitedWorkers().size() + " worker(s) replenish without the limit";
    }
    return s;
  }

  /** The {@code rate_limit} JSON object, or null without a rate limit. */
  static Map<String, Object> json(QueueState st) {
    RateLimit r = st.in.rateLimit().orElse(null);
    if (r == null) {
      return null;
    }
    Map<String, Object> m = Json.obj();
    m.put("per_second", r.perSecond());
    m.put("burst", r.burst());
    m.put("text", "rate-limited at " + r.describe());
    m.put("window", st.window());
    m.put("capacity_window", r.capacityWindow());
    Map<String, Object> shares = new TreeMap<>();
    r.shares().forEach((w, v) -> shares.put(w, QueueState.round(v)));
    m.put("shares", shares);
    m.put("unlimited_workers", r.unlimitedWorkers());
    m.put("bottleneck", bottleneck(st));
    return m;
  }

  /** True when producers wait while the workers have free capacity: the rate holds them back. */
  static boolean bottleneck(QueueState st) {
    if (st.in.rateLimit().isEmpty() || st.waiting() == 0) {
      return false;
    }
    long capacity = 0;
    long inFlight = 0;
    for (WorkerAdvert a : st.in.liveWorkers()) {
      if (a.state() == WorkerAdvert.State.RUNNING) {
        capacity += a.capacity();
        inFlight += a.inFlight();
      }
    }
    return inFlight < capacity;
  }

  /** The {@code rate-limited} finding when the rate is the bottleneck, else null. */
  static ExplainCommand.Finding bottleneckFinding(QueueState st) {
    if (!bottleneck(st)) {
      return null;
    }
    RateLimit r = st.in.rateLimit().orElseThrow();
    return new ExplainCommand.Finding(
        "rate-limited",
        "the rate is the bottleneck: rate-limited at "
            + r.describe()
            + ", producers wait ("
            + st.waiting()
            + " sends) while the workers have free capacity (in flight "
            + st.inFlight()
            + ", live workers "
            + st.liveWorkers()
            + ")",
        "this is the limit at work; if the downstream allows more, raise rate_per_second in"
            + " jetstream-config/queues/"
            + st.queue
            + ".json and run 'sluice apply' (or provision with QueueSpec.rateLimit)");
  }

  /** The {@code rate-unlimited-workers} finding, else null. */
  static ExplainCommand.Finding unlimitedFinding(QueueState st) {
    RateLimit r = st.in.rateLimit().orElse(null);
    if (r == null || r.unlimitedWorkers().isEmpty()) {
      return null;
    }
    return new ExplainCommand.Finding(
        "rate-unlimited-workers",
        "rate-limited at "
            + r.describe()
            + " but "
            + r.unlimitedWorkers().size()
            + " live worker(s) do not mint within the rate (protocol revision before 1.3): "
            + String.join(", ", r.unlimitedWorkers())
            + "; the credits they replenish are not limited, so the queue can run above its rate",
        "upgrade those workers to a Sluice version with rate limits, or stop them");
  }
}
