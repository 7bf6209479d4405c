package dev.sluice.internal.worker;

import dev.sluice.MessageContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@link MessageContext} of one delivery: a view of the {@link Delivery}. */
final class DeliveryContext implements MessageContext {
  private final String queue;
  private final String workerId;
  private final Delivery d;

  DeliveryContext(String queue, String workerId, Delivery d) {
    this.queue = queue;
    this.workerId = workerId;
    this.d = d;
  }

  Delivery delivery() {
    return d;
  }

  @Override
  public String queue() {
    return queue;
  }

  @Override
  public String messageId() {
    return d.hc.msgId();
  }

  @Override
  public long attempt() {
    return d.attempt();
  }

  @Override
  public String type() {
    return d.hc.type();
  }

  @Override
  public int version() {
    return d.hc.version();
  }

  @Override
  public long streamSequence() {
    return d.meta.streamSequence();
  }

  @Override
  public String traceId() {
    return d.span.traceId();
  }

  @Override
  public String spanId() {
    return d.span.spanId();
  }

  @Override
  public String traceparent() {
    return d.span.header();
  }

  @Override
  public Map<String, String> headers() {
    Map<String, String> m = new LinkedHashMap<>();
    if (d.headers != null) {
      for (String k : d.headers.keySet()) {
        m.put(k, d.headers.getFirst(k));
      }
    }
    return m;
  }

  @Override
  public List<String> header(String name) {
    List<String> v = d.headers == null ? null : d.headers.get(name);
    return v == null ? List.of() : List.copyOf(v);
  }

  @Override
  public byte[] payload() {
    return d.data.clone();
  }

  @Override
  public Object value() {
    return d.value;
  }

  @Override
  public String workerId() {
    return workerId;
  }
}
