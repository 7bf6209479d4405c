package dev.sluice.internal.worker;

import dev.sluice.internal.telemetry.Tracing;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import org.slf4j.MDC;
import org.slf4j.helpers.NOPMDCAdapter;

/**
 * Step 6: the handler's span, a child of the producer's {@code traceparent} (an OpenTelemetry span
 * made current when its API is present, plain W3C ids otherwise), and the MDC keys {@code
 * sluice.queue}, {@code sluice.msgId}, {@code traceId}, {@code spanId} for the rest of the chain.
 * Always present: {@code MessageContext.traceId()} and log correlation are part of the contract.
 * When the logging backend has no MDC (slf4j-nop, no binding) the keys are not written at all: four
 * puts and four removes per message that nobody can read.
 *
 * <p>With a real MDC the four keys are written for every message, whether or not a log pattern
 * reads them: the step cannot know which keys a pattern or an appender uses, and they are part of
 * the documented log correlation. With logback 1.5 the four puts and removes cost 0.11-0.18 µs per
 * message on the benchmark machine (a plain loop of them), under half a percent of the JVM's CPU
 * per message in {@code scripts/bench credit-overhead}. Rejected: one combined key (breaks patterns
 * that name {@code traceId}), and writing them only when DEBUG is on (handler logs at INFO lose
 * their correlation).
 */
final class TraceStep implements Step {
  private final String queue;
  private final boolean mdc;

  TraceStep(String queue) {
    this.queue = queue;
    this.mdc = !(MDC.getMDCAdapter() instanceof NOPMDCAdapter);
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    TraceContext parent = TraceContext.parse(HeaderCheck.first(d.headers, Protocol.H_TRACEPARENT));
    Tracing.HandlerSpan hs = Tracing.startHandler(parent, queue, d.msgId());
    d.span = hs.context();
    if (mdc) {
      MDC.put("sluice.queue", queue);
      MDC.put("sluice.msgId", d.msgId());
      MDC.put("traceId", d.span.traceId());
      MDC.put("spanId", d.span.spanId());
    }
    Throwable failure = null;
    try {
      next.proceed(d);
    } catch (Exception | Error e) {
      failure = e;
      throw e;
    } finally {
      hs.end(failure);
      hs.close();
      if (mdc) {
        MDC.remove("sluice.queue");
        MDC.remove("sluice.msgId");
        MDC.remove("traceId");
        MDC.remove("spanId");
      }
    }
  }
}
