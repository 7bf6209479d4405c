package dev.sluice.spring;

import dev.sluice.QueueProducer;

/**
 * Changes the builder of a producer that {@link SluiceTemplate} opens for a queue. Every bean of
 * this type is applied, in order.
 */
@FunctionalInterface
public interface ProducerCustomizer {
  void customize(String queue, QueueProducer.Builder builder);
}
