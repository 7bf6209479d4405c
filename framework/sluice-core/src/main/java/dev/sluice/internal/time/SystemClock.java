package dev.sluice.internal.time;

/** {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
enum SystemClock implements Clock {
  INSTANCE;

  @Override
  public long nanos() {
    return System.nanoTime();
  }

  @Override
  public long millis() {
    return System.currentTimeMillis();
  }
}
