package dev.sluice;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A queue's fleet-wide rate limit as an inspection reads it (protocol §15.2): credits enter
 * circulation no faster than {@code perSecond}, and what circulates plus what the workers may mint
 * at once stays within {@code burst}.
 *
 * @param perSecond the rate, messages per second
 * @param burst the most messages sent at once above the rate
 * @param capacityWindow the window the live workers' capacity would give without the rate; the
 *     queue's window is {@code min(capacityWindow, max(1, burst − pacing))}
 * @param shares each live worker that mints within the rate, with the share it mints at (per
 *     second)
 * @param unlimitedWorkers live running workers that do not mint within the rate (protocol revision
 *     before 1.3): while one runs, the queue can run above its rate
 */
public record RateLimit(
    double perSecond,
    int burst,
    long capacityWindow,
    Map<String, Double> shares,
    List<String> unlimitedWorkers) {

  /** Copies the map and the list. */
  public RateLimit {
    shares = Map.copyOf(Objects.requireNonNull(shares, "shares"));
    unlimitedWorkers = List.copyOf(unlimitedWorkers);
  }

  /** {@code "500/s (burst 50)"}. */
  public String describe() {
    String r =
        perSecond == Math.rint(perSecond)
            ? Long.toString((long) perSecond)
            : String.format(java.util.Locale.ROOT, "%.2f", perSecond);
    return r + "/s (burst " + burst + ")";
  }
}
