package dev.sluice.internal.worker;

import dev.sluice.internal.telemetry.Metrics;

/** Step 9, present only with a meter registry: times the middleware and the handler. */
final class MetricsStep implements Step {
  private final Metrics metrics;

  MetricsStep(Metrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    long start = System.nanoTime();
    try {
      next.proceed(d);
    } finally {
      metrics.timeNanos("sluice.worker.handler", System.nanoTime() - start);
    }
  }
}
