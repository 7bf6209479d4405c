package dev.sluice.spi;

/**
 * Wraps the handling of one message, like an interceptor. The first middleware added runs
 * outermost. A middleware calls {@code next.proceed(context)} to continue, or throws to fail the
 * message (a {@link dev.sluice.RejectMessageException} dead-letters it). The worker, not the
 * middleware, owns the ack: middleware never acks or NAKs.
 */
@FunctionalInterface
public interface Middleware {
  /** Returns the invocation that runs this middleware around {@code next}. */
  Invocation wrap(Invocation next);

  /** One step of the chain. */
  @FunctionalInterface
  interface Invocation {
    void proceed(dev.sluice.MessageContext context) throws Exception;
  }
}
