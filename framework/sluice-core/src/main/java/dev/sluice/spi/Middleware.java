package dev.sluice.spi;

/**
 * Wraps the handling of one message, like an interceptor. The first middleware added runs
 * outermost. A middleware calls {@code next.proceed(context)} to continue, or throws to fail the
 * message (a {@link dev.sluice.RejectMessageException} dead-letters it). The worker, not the
 * middleware, owns the ack: middleware never acks or NAKs.
 *
 * <p>{@code wrap} is called once per middleware when the worker starts; returning null fails {@code
 * start()} with a message naming the middleware. A middleware may pass its own {@link
 * dev.sluice.MessageContext} to {@code proceed} (for example one that delegates to the original),
 * on the thread it was called on; the handler then receives that context. Passing null fails the
 * message with an error naming the middleware. Implementations must be thread-safe: one wrapped
 * invocation serves every handler thread.
 */
@FunctionalInterface
public interface Middleware {
  /** Returns the invocation that runs this middleware around {@code next}; never null. */
  Invocation wrap(Invocation next);

  /** One step of the chain. */
  @FunctionalInterface
  interface Invocation {
    /** Runs the rest of the chain for {@code context}; throws what the rest failed with. */
    void proceed(dev.sluice.MessageContext context) throws Exception;
  }
}
