package dev.sluice.internal.worker;

import dev.sluice.internal.wire.Classifier;

/** The other live workers' view of a delivery, read lazily from their adverts. */
@FunctionalInterface
interface Fleets {
  Classifier.Fleet of(Delivery d);
}
