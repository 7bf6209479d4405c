package dev.sluice.internal.telemetry;

import dev.sluice.internal.wire.TraceContext;

/**
 * Trace context for producers and handlers (protocol §10): OpenTelemetry when its API is on the
 * class path, plain W3C {@code traceparent} otherwise. With OpenTelemetry, a send without an
 * explicit traceparent continues the caller's current span, and every handler runs inside a real
 * span ({@code sluice.handle}) that is current on the handler's thread, so the application's own
 * instrumentation joins the trace.
 */
public final class Tracing {
  private static final boolean OTEL = present("io.opentelemetry.api.trace.Span");

  private Tracing() {}

  private static boolean present(String cls) {
    try {
      Class.forName(cls, false, Tracing.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** True when OpenTelemetry's API is available. */
  public static boolean openTelemetry() {
    return OTEL;
  }

  /** The caller's current span as a parent for a new message, or null. */
  public static TraceContext currentParent() {
    return OTEL ? OtelTracing.currentParent() : null;
  }

  /** A handler's span: its ids, and what to call when the handler ends. */
  public interface HandlerSpan extends AutoCloseable {
    TraceContext context();

    /** Records the handler's failure (null for success). */
    void end(Throwable failure);

    /** Ends the span if {@link #end} was not called; never throws. */
    @Override
    void close();
  }

  /** Starts the span a handler runs in, child of {@code parent} (null: a new trace). */
  public static HandlerSpan startHandler(TraceContext parent, String queue, String messageId) {
    if (OTEL) {
      return OtelTracing.startHandler(parent, queue, messageId);
    }
    TraceContext ctx = (parent != null ? parent : TraceContext.newTrace()).child();
    return new HandlerSpan() {
      @Override
      public TraceContext context() {
        return ctx;
      }

      @Override
      public void end(Throwable failure) {}

      @Override
      public void close() {}
    };
  }
}
