package dev.sluice.internal.worker;

import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Classifier;

/**
 * Step 4: a type or version this worker does not handle is NAKed for other workers during the grace
 * period, then dead-lettered unless another live worker advertises it.
 */
final class GraceStep implements Step {
  private final Fleets fleets;
  private final Classifier.Limits limits;
  private final Clock clock;
  private final Settler settler;

  GraceStep(Fleets fleets, Classifier.Limits limits, Clock clock, Settler settler) {
    this.fleets = fleets;
    this.limits = limits;
    this.clock = clock;
    this.settler = settler;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    if (d.notHandled != null) {
      long ageMs = clock.millis() - d.meta.timestamp().toInstant().toEpochMilli();
      Classifier.Decision decision = Classifier.grace(d.notHandled, ageMs, fleets.of(d), limits);
      if (decision != Classifier.GO_ON) {
        settler.settle(d, decision);
        return;
      }
    }
    next.proceed(d);
  }
}
