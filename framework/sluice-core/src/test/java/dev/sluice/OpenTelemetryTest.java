package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.TraceContext;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * With OpenTelemetry on the class path, sends continue the caller's span and handlers run in one.
 */
class OpenTelemetryTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final InMemorySpanExporter EXPORTER = InMemorySpanExporter.create();
  static OpenTelemetrySdk sdk;

  @BeforeAll
  static void installSdk() {
    GlobalOpenTelemetry.resetForTest();
    sdk =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(EXPORTER))
                    .build())
            .buildAndRegisterGlobal();
  }

  @AfterAll
  static void removeSdk() {
    sdk.close();
    GlobalOpenTelemetry.resetForTest();
  }

  @Test
  void traceFlowsFromCallerSpanThroughHandlerSpan() throws Exception {
    String q = NATS.uniqueName("q");
    Codec<String> job = Codec.utf8(Queues.TYPE, 1);
    Map<String, String> seen = new ConcurrentHashMap<>();
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      try (Worker w =
              sluice
                  .worker(q)
                  .reconciler(Duration.ofMillis(300))
                  .handle(
                      job,
                      (s, ctx) -> {
                        // The application's own instrumentation sees the handler span as current.
                        seen.put("current", Span.current().getSpanContext().getSpanId());
                        seen.put("ctx", ctx.spanId());
                        seen.put("trace", ctx.traceId());
                      })
                  .start();
          QueueProducer p = sluice.producer(q).build()) {
        Tracer tracer = GlobalOpenTelemetry.getTracer("test");
        Span caller = tracer.spanBuilder("checkout").startSpan();
        SendResult sent;
        try (Scope ignored = caller.makeCurrent()) {
          sent = p.send(OutgoingMessage.of(job, "order-1"));
        } finally {
          caller.end();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 3);

        String callerTrace = caller.getSpanContext().getTraceId();
        TraceContext onWire = TraceContext.parse(sent.traceparent());
        assertThat(onWire.traceId()).isEqualTo(callerTrace);
        assertThat(seen.get("trace")).isEqualTo(callerTrace);
        assertThat(seen.get("current")).isEqualTo(seen.get("ctx"));
        await()
            .atMost(Duration.ofSeconds(5))
            .until(
                () ->
                    EXPORTER.getFinishedSpanItems().stream()
                        .anyMatch(s -> s.getName().equals("sluice.handle " + q)));
        SpanData handle =
            EXPORTER.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals("sluice.handle " + q))
                .findFirst()
                .orElseThrow();
        assertThat(handle.getTraceId()).isEqualTo(callerTrace);
        assertThat(handle.getSpanId()).isEqualTo(seen.get("ctx"));
        assertThat(handle.getParentSpanId()).isEqualTo(onWire.spanId());
        assertThat(handle.getAttributes().asMap().toString()).contains(sent.messageId());
      }
    }
  }
}
