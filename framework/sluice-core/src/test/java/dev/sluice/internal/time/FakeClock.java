package dev.sluice.internal.time;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test advances it. Thread-safe. */
public final class FakeClock implements Clock {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final AtomicLong millis = new AtomicLong(1_800_000_000_000L);

  @Override
  public long nanos() {
    return nanos.get();
  }

  @Override
  public long millis() {
    return millis.get();
  }

  /** Moves both readings forward by {@code d}. */
  public void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
    millis.addAndGet(d.toMillis());
  }
}
