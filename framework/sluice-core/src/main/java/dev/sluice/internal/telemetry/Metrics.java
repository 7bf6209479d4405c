package dev.sluice.internal.telemetry;

import java.util.function.Supplier;

/** What Sluice measures; a no-op unless a Micrometer registry is given. Thread-safe. */
public interface Metrics {
  Metrics NOOP = new Metrics() {};

  default void gauge(String name, String queue, Supplier<Number> value) {}

  default void count(String name, String queue, String tagKey, String tagValue) {}

  default void timeNanos(String name, String queue, long nanos) {}

  /**
   * Micrometer metrics on {@code registry} (an {@code
   * io.micrometer.core.instrument.MeterRegistry}).
   */
  static Metrics micrometer(Object registry) {
    return registry == null ? NOOP : new MicrometerMetrics(registry);
  }
}
