package dev.sluice.internal.worker;

import dev.sluice.MessageContext;
import dev.sluice.spi.Middleware;
import java.util.List;
import java.util.Map;

/**
 * The last step: the user's middleware around the handler registered for the decoded version. The
 * middleware is wrapped once, at start; this step enforces the chain's contract with messages that
 * name the culprit (as OkHttp's interceptor chain does): a middleware that returns null from {@code
 * wrap()} fails {@code start()}, one that passes a null context to {@code proceed()} fails the
 * message. A middleware may pass its own {@link MessageContext} (for example one that delegates to
 * the original): the handler gets that context and the payload the worker decoded. Thread-safe.
 */
final class HandlerStep implements Step {
  // The delivery of the message this thread is handling, for a context a middleware replaced.
  private static final ThreadLocal<Delivery> CURRENT = new ThreadLocal<>();

  private final String queue;
  private final String workerId;
  private final Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers;
  private final Middleware.Invocation chain;
  private final boolean hasMiddleware;

  HandlerStep(WorkerSettings s) {
    this.queue = s.queue();
    this.workerId = s.workerId();
    this.handlers = s.handlers();
    List<Middleware> mws = s.middleware();
    this.hasMiddleware = !mws.isEmpty();
    Middleware.Invocation next = this::invokeHandler;
    for (int i = mws.size() - 1; i >= 0; i--) {
      Middleware mw = mws.get(i);
      Middleware.Invocation wrapped = mw.wrap(guarded(next, i, mw));
      if (wrapped == null) {
        throw new IllegalStateException(
            "middleware #" + (i + 1) + " (" + name(mw) + ") returned null from wrap()");
      }
      next = wrapped;
    }
    this.chain = next;
  }

  /** The invocation middleware {@code mw} calls, which checks what {@code mw} passes on. */
  private static Middleware.Invocation guarded(Middleware.Invocation next, int i, Middleware mw) {
    return ctx -> {
      if (ctx == null) {
        throw new IllegalStateException(
            "middleware #" + (i + 1) + " (" + name(mw) + ") passed a null context to proceed()");
      }
      next.proceed(ctx);
    };
  }

  private static String name(Middleware mw) {
    String cls = mw.getClass().getName();
    String text = String.valueOf(mw);
    return text.startsWith(cls + "@") ? cls : text + " of " + cls;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    DeliveryContext ctx = new DeliveryContext(queue, workerId, d);
    if (!hasMiddleware) {
      chain.proceed(ctx);
      return;
    }
    Delivery outer = CURRENT.get();
    CURRENT.set(d);
    try {
      chain.proceed(ctx);
    } finally {
      if (outer == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(outer);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private void invokeHandler(MessageContext ctx) throws Exception {
    Delivery d;
    if (ctx instanceof DeliveryContext dc) {
      d = dc.delivery();
    } else {
      d = CURRENT.get();
      if (d == null) {
        throw new IllegalStateException(
            "a middleware called proceed() with its own MessageContext on another thread than"
                + " the one it was called on; call proceed() on the calling thread");
      }
    }
    var reg = (WorkerSettings.Registration<Object>) handlers.get(d.hc.type()).get(d.decodedVersion);
    reg.handler().handle(d.value, ctx);
  }
}
