package dev.sluice.internal.worker;

/**
 * One link of the worker's chain. A step either settles the delivery (through the {@link Settler})
 * and returns, or calls {@code next.proceed(d)}; a step that wraps the rest sees the handler's
 * failure as the exception {@code proceed} throws and must rethrow it. Steps are built once at
 * start and shared by every handler thread, so they keep no per-message state outside the {@link
 * Delivery}.
 */
interface Step {
  void handle(Delivery d, Next next) throws Exception;

  /** The rest of the chain after a step. */
  @FunctionalInterface
  interface Next {
    void proceed(Delivery d) throws Exception;
  }
}
