package dev.sluice.internal.topology;

import dev.sluice.internal.credit.Rates;
import java.util.Locale;

/** A rate limit as provisioning reports it: {@code 500/s burst 50}, or {@code none}. */
final class RateText {
  private RateText() {}

  static String of(double perSecond, long burst) {
    if (!Rates.limited(perSecond)) {
      return "none";
    }
    String r =
        perSecond == Math.rint(perSecond)
            ? Long.toString((long) perSecond)
            : String.format(Locale.ROOT, "%.3f", perSecond);
    return r + "/s burst " + burst;
  }
}
