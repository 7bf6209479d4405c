package dev.sluice.internal.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Metrics of one worker or producer on a Micrometer registry; loaded only when one is given. */
final class MicrometerMetrics implements Metrics {
  private final MeterRegistry registry;
  private final Tags tags;
  private final List<Gauge> gauges = new CopyOnWriteArrayList<>();

  MicrometerMetrics(Object registry, String queue, String instanceKey, String instanceId) {
    this.registry = (MeterRegistry) registry;
    this.tags = Tags.of("queue", queue, instanceKey, instanceId);
  }

  @Override
  public void gauge(String name, Supplier<Number> value) {
    gauges.add(Gauge.builder(name, value).tags(tags).register(registry));
  }

  @Override
  public void count(String name, String tagKey, String tagValue) {
    Counter.Builder b = Counter.builder(name).tags(tags);
    if (tagKey != null) {
      b.tag(tagKey, tagValue);
    }
    b.register(registry).increment();
  }

  @Override
  public void timeNanos(String name, long nanos) {
    Timer.builder(name)
        .tags(tags)
        .publishPercentileHistogram()
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    for (Gauge g : gauges) {
      registry.remove(g);
    }
    gauges.clear();
  }
}
