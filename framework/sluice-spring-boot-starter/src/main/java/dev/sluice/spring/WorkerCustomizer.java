package dev.sluice.spring;

import dev.sluice.Worker;

/**
 * Changes the builder of a {@code @SluiceListener} worker before it starts: back-off, dead-letter
 * policy, middleware, idempotency, capacity. Every bean of this type is applied, in order.
 */
@FunctionalInterface
public interface WorkerCustomizer {
  void customize(String queue, Worker.Builder builder);
}
