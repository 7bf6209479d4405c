package dev.sluice;

import dev.sluice.internal.wire.HeaderCheck;

/** The checks of fairness keys and weights (protocol §15.3) that the public builders share. */
final class FairnessRules {
  /** The largest weight a key may have. */
  static final int MAX_WEIGHT = 10_000;

  private FairnessRules() {}

  static String requireKey(String what, String key) {
    if (key == null || !HeaderCheck.fairnessKey(key)) {
      throw new IllegalArgumentException(
          what
              + " '"
              + key
              + "' must be 1-64 characters of [A-Za-z0-9_.:@-]; map longer tenant ids to a short"
              + " one (e.g. a hash)");
    }
    return key;
  }

  static int requireWeight(String key, int weight) {
    if (weight < 1 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "fairness weight of key '"
              + key
              + "' must be in [1, "
              + MAX_WEIGHT
              + "], got "
              + weight
              + " (a key without a weight has weight 1; to favour a key, raise its weight instead"
              + " of lowering the others')");
    }
    return weight;
  }
}
