package dev.sluice.internal.telemetry;

import java.util.function.Supplier;

/**
 * What one worker or producer measures; a no-op unless a Micrometer registry is given. Every meter
 * carries the tags {@code queue} and {@code worker} (or {@code producer}) with the instance's id,
 * so two workers of one queue in one JVM are two series, not one that hides the other. Names follow
 * Micrometer's convention (dotted lower case); the table is in docs/METRICS.md. Thread-safe.
 */
public interface Metrics extends AutoCloseable {
  Metrics NOOP = new Metrics() {};

  default void gauge(String name, Supplier<Number> value) {}

  default void count(String name) {
    count(name, null, null);
  }

  default void count(String name, String tagKey, String tagValue) {}

  default void timeNanos(String name, long nanos) {}

  /** Removes this instance's gauges, so a closed worker's gauges do not linger. */
  @Override
  default void close() {}

  /**
   * Micrometer metrics on {@code registry} (an {@code io.micrometer.core.instrument.MeterRegistry})
   * for one instance: {@code instanceKey} is {@code worker} or {@code producer}.
   */
  static Metrics micrometer(Object registry, String queue, String instanceKey, String instanceId) {
    return registry == null
        ? NOOP
        : new MicrometerMetrics(registry, queue, instanceKey, instanceId);
  }
}
