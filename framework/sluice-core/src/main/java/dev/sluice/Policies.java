package dev.sluice;

import java.time.Duration;
import java.util.Objects;

/** Argument checks shared by the worker's builders, with the field's name in every message. */
final class Policies {
  private Policies() {}

  /** Returns {@code d} if it is positive. */
  static Duration positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be > 0, got " + d);
    }
    return d;
  }

  /** Returns {@code n} if it is in {@code [min, max]}. */
  static int inRange(String name, int n, int min, int max) {
    if (n < min || n > max) {
      throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + n);
    }
    return n;
  }
}
