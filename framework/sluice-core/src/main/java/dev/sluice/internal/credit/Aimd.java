package dev.sluice.internal.credit;

/**
 * The pushback rule of protocol §15.1, pure: the capacity limit a worker advertises while its
 * downstream pushes back, lowered multiplicatively on a pushback (at most once per decrease
 * interval) and raised by 1 per increase interval in which none pushed back and handlers succeeded
 * (or the worker was idle: nothing in hand at the tick), within {@code [floor, nominal]}. Times are
 * milliseconds on any monotonic clock the caller passes in. Vectors: the {@code pushback} cases of
 * {@code protocol/vectors/credits.json}. Thread-safe: every method is synchronized (called per
 * pushback and per tick, never per message).
 */
public final class Aimd {
  /** The limit while not lowered. */
  public static final int NONE = Integer.MAX_VALUE;

  private final double decrease;
  private final int floor;
  private final long decreaseIntervalMs;
  private final long increaseIntervalMs;
  private int limit = NONE;
  private long lastDecreaseMs;
  private long lastIncreaseMs;
  private long loweredSinceMs;
  private boolean successSinceStep;
  private boolean pushbackSinceStep;
  private long decreases;

  public Aimd(double decrease, int floor, long decreaseIntervalMs, long increaseIntervalMs) {
    this.decrease = decrease;
    this.floor = floor;
    this.decreaseIntervalMs = decreaseIntervalMs;
    this.increaseIntervalMs = increaseIntervalMs;
  }

  /**
   * A handler pushed back at {@code nowMs}: lowers the limit to {@code max(floor, floor(current ×
   * decrease))}, where current is {@code min(nominal, limit)}, unless the last decrease was less
   * than the decrease interval ago. Returns true if it lowered.
   */
  public synchronized boolean pushback(int nominal, long nowMs) {
    pushbackSinceStep = true;
    if (limit != NONE && nowMs - lastDecreaseMs < decreaseIntervalMs) {
      return false;
    }
    int current = Math.min(nominal, limit);
    int lowered = Math.max(floor, (int) Math.floor(current * decrease));
    if (limit == NONE) {
      loweredSinceMs = nowMs;
    }
    limit = lowered;
    lastDecreaseMs = nowMs;
    lastIncreaseMs = nowMs;
    successSinceStep = false;
    pushbackSinceStep = false;
    decreases++;
    return true;
  }

  /** At least one handler succeeded (called at most once per tick, not per message). */
  public synchronized void succeeded() {
    successSinceStep = true;
  }

  /**
   * The periodic step at {@code nowMs}: once the increase interval has passed since the last
   * change, raises a lowered limit by 1 if none pushed back meanwhile and handlers succeeded or the
   * worker is {@code idle} (nothing in hand), and starts a new interval either way; a limit that
   * reaches {@code nominal} is no longer lowered. An idle worker recovers because nothing tells it
   * the downstream is still overloaded, and a lowered window would otherwise outlive the overload
   * on a quiet queue.
   */
  public synchronized void tick(int nominal, long nowMs, boolean idle) {
    if (limit == NONE) {
      return;
    }
    if (limit >= nominal) {
      limit = NONE;
      return;
    }
    if (nowMs - lastIncreaseMs < increaseIntervalMs) {
      return;
    }
    if ((successSinceStep || idle) && !pushbackSinceStep) {
      limit++;
      if (limit >= nominal) {
        limit = NONE;
      }
    }
    lastIncreaseMs = nowMs;
    successSinceStep = false;
    pushbackSinceStep = false;
  }

  /** The capacity to advertise for a configured capacity of {@code nominal}. */
  public synchronized int capacity(int nominal) {
    return Math.min(nominal, limit);
  }

  /** True while the limit is lowered. */
  public synchronized boolean lowered() {
    return limit != NONE;
  }

  /** When the current lowered spell began ({@code nowMs} of its first decrease); 0 if none. */
  public synchronized long loweredSinceMs() {
    return limit == NONE ? 0 : loweredSinceMs;
  }

  /** Decreases since start. */
  public synchronized long decreases() {
    return decreases;
  }
}
