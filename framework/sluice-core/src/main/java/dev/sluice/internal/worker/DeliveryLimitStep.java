package dev.sluice.internal.worker;

import dev.sluice.internal.wire.Classifier;

/**
 * Step 2: a message delivered more than {@code maxDeliveries} times without an outcome is
 * dead-lettered, unless the fleet suggests other workers' grace NAKs caused the deliveries. Also
 * records whether this worker handles the message at all, for the grace step.
 */
final class DeliveryLimitStep implements Step {
  private final Classifier.Handles handles;
  private final Fleets fleets;
  private final Classifier.Limits limits;
  private final Settler settler;

  DeliveryLimitStep(
      Classifier.Handles handles, Fleets fleets, Classifier.Limits limits, Settler settler) {
    this.handles = handles;
    this.fleets = fleets;
    this.limits = limits;
    this.settler = settler;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    d.notHandled = Classifier.notHandled(d.hc, handles);
    Classifier.Decision decision =
        Classifier.deliveryLimit(d.attempt(), d.notHandled, fleets.of(d), limits);
    if (decision != Classifier.GO_ON) {
      settler.settle(d, decision);
      return;
    }
    next.proceed(d);
  }
}
