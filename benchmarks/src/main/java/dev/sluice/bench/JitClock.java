package dev.sluice.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * How long this JVM's JIT compilers have worked so far ({@link
 * CompilationMXBean#getTotalCompilationTime()}, milliseconds summed over the compiler threads), so
 * that a warm-up can last until compilation has settled and a measured pass can say how much
 * compiling it still contained. Compilation inside a measured period is CPU the pipeline is charged
 * for without being its per-message work.
 */
final class JitClock {
  /** A one-second window with at most this much compilation counts as quiet. */
  static final long QUIET_MS_PER_SECOND = 20;

  private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();

  private JitClock() {}

  /**
   * Time the garbage collectors have taken so far in milliseconds, summed over the collectors
   * ({@link GarbageCollectorMXBean#getCollectionTime()}: for G1 the young and mixed pauses plus the
   * concurrent cycles), or -1 where the JVM does not tell.
   */
  static long gcMillis() {
    long sum = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      long t = gc.getCollectionTime();
      if (t < 0) {
        return -1;
      }
      sum += t;
    }
    return sum;
  }

  /** Compilation so far in milliseconds, or -1 where the JVM does not tell. */
  static long millis() {
    return JIT != null && JIT.isCompilationTimeMonitoringSupported()
        ? JIT.getTotalCompilationTime()
        : -1;
  }

  /**
   * Whether the last two one-second windows, {@code before} and {@code last} milliseconds of
   * compilation, were both quiet.
   */
  static boolean settled(long before, long last) {
    return before <= QUIET_MS_PER_SECOND && last <= QUIET_MS_PER_SECOND;
  }
}
