package dev.sluice.internal.worker;

import dev.sluice.MessageContext;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.impl.Headers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@link MessageContext} of one delivery. */
final class DeliveryContext implements MessageContext {
  private final String queue;
  private final String workerId;
  private final String messageId;
  private final long attempt;
  private final String type;
  private final int version;
  private final long streamSequence;
  private final TraceContext span;
  private final Headers headers;
  private final byte[] payload;
  Object value;

  DeliveryContext(
      String queue,
      String workerId,
      String messageId,
      long attempt,
      String type,
      int version,
      long streamSequence,
      TraceContext span,
      Headers headers,
      byte[] payload) {
    this.queue = queue;
    this.workerId = workerId;
    this.messageId = messageId;
    this.attempt = attempt;
    this.type = type;
    this.version = version;
    this.streamSequence = streamSequence;
    this.span = span;
    this.headers = headers;
    this.payload = payload;
  }

  @Override
  public String queue() {
    return queue;
  }

  @Override
  public String messageId() {
    return messageId;
  }

  @Override
  public long attempt() {
    return attempt;
  }

  @Override
  public String type() {
    return type;
  }

  @Override
  public int version() {
    return version;
  }

  @Override
  public long streamSequence() {
    return streamSequence;
  }

  @Override
  public String traceId() {
    return span.traceId();
  }

  @Override
  public String spanId() {
    return span.spanId();
  }

  @Override
  public String traceparent() {
    return span.header();
  }

  @Override
  public Map<String, String> headers() {
    Map<String, String> m = new LinkedHashMap<>();
    if (headers != null) {
      for (String k : headers.keySet()) {
        m.put(k, headers.getFirst(k));
      }
    }
    return m;
  }

  @Override
  public List<String> header(String name) {
    List<String> v = headers == null ? null : headers.get(name);
    return v == null ? List.of() : List.copyOf(v);
  }

  @Override
  public byte[] payload() {
    return payload.clone();
  }

  @Override
  public Object value() {
    return value;
  }

  @Override
  public String workerId() {
    return workerId;
  }
}
