package dev.sluice.internal.telemetry;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;

/** The OpenTelemetry side of {@link Tracing}; loaded only when the API is on the class path. */
final class OtelTracing {
  private OtelTracing() {}

  static TraceContext currentParent() {
    SpanContext sc = Span.current().getSpanContext();
    if (!sc.isValid()) {
      return null;
    }
    return new TraceContext(sc.getTraceId(), sc.getSpanId(), sc.getTraceFlags().asHex());
  }

  static Tracing.HandlerSpan startHandler(TraceContext parent, String queue, String messageId) {
    Context parentContext = Context.root();
    if (parent != null) {
      SpanContext remote =
          SpanContext.createFromRemoteParent(
              parent.traceId(),
              parent.spanId(),
              TraceFlags.fromHex(parent.flags(), 0),
              TraceState.getDefault());
      parentContext = parentContext.with(Span.wrap(remote));
    }
    Span span =
        GlobalOpenTelemetry.getTracer("dev.sluice")
            .spanBuilder("sluice.handle " + queue)
            .setParent(parentContext)
            .setSpanKind(SpanKind.CONSUMER)
            .setAttribute("messaging.system", "nats")
            .setAttribute("messaging.destination.name", Protocol.workSubject(queue))
            .setAttribute("messaging.message.id", messageId)
            .startSpan();
    SpanContext sc = span.getSpanContext();
    TraceContext ctx;
    if (sc.isValid()) {
      ctx = new TraceContext(sc.getTraceId(), sc.getSpanId(), sc.getTraceFlags().asHex());
    } else {
      // No SDK installed: the API is a no-op; keep W3C propagation working on our own ids.
      ctx = (parent != null ? parent : TraceContext.newTrace()).child();
    }
    Scope scope = span.makeCurrent();
    return new Tracing.HandlerSpan() {
      private boolean ended;

      @Override
      public TraceContext context() {
        return ctx;
      }

      @Override
      public void end(Throwable failure) {
        if (ended) {
          return;
        }
        ended = true;
        if (failure != null) {
          span.recordException(failure);
          span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
        }
        scope.close();
        span.end();
      }

      @Override
      public void close() {
        end(null);
      }
    };
  }
}
