package dev.sluice.internal.worker;

import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.HeaderCheck;

/** Step 1: protocol headers well-formed and payload within the size limit, else dead-letter. */
final class ValidateStep implements Step {
  private final Classifier.Limits limits;
  private final Settler settler;

  ValidateStep(Classifier.Limits limits, Settler settler) {
    this.limits = limits;
    this.settler = settler;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    d.hc = HeaderCheck.check(d.headers);
    Classifier.Decision decision = Classifier.validate(d.hc, d.data.length, limits);
    if (decision != Classifier.GO_ON) {
      settler.settle(d, decision);
      return;
    }
    next.proceed(d);
  }
}
