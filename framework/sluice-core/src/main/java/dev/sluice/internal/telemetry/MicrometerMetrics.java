package dev.sluice.internal.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Metrics on a Micrometer registry; loaded only when one is given. */
final class MicrometerMetrics implements Metrics {
  private final MeterRegistry registry;

  MicrometerMetrics(Object registry) {
    this.registry = (MeterRegistry) registry;
  }

  @Override
  public void gauge(String name, String queue, Supplier<Number> value) {
    Gauge.builder(name, value).tag("queue", queue).register(registry);
  }

  @Override
  public void count(String name, String queue, String tagKey, String tagValue) {
    Counter.Builder b = Counter.builder(name).tag("queue", queue);
    if (tagKey != null) {
      b.tag(tagKey, tagValue);
    }
    b.register(registry).increment();
  }

  @Override
  public void timeNanos(String name, String queue, long nanos) {
    Timer.builder(name)
        .tag("queue", queue)
        .publishPercentileHistogram()
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }
}
