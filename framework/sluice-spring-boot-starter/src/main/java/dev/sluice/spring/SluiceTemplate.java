package dev.sluice.spring;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.spi.Codec;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.springframework.beans.factory.DisposableBean;

/**
 * Sends messages to Sluice queues: the application's producer bean. It opens one {@link
 * QueueProducer} per queue on first use (applying every {@link ProducerCustomizer}) and closes them
 * all when the application context closes, returning their unspent credits.
 *
 * <pre>{@code
 * template.send("orders", new Order("ord-1", items));   // codec from the payload's class
 * template.send("orders", ORDER_V2, protoOrder);        // an explicit codec
 * }</pre>
 *
 * <p>Each send waits for a credit and the server's acknowledgement, as {@link
 * QueueProducer#send(OutgoingMessage)} does, and throws what it throws. Thread-safe.
 */
public class SluiceTemplate implements DisposableBean {
  private final Sluice sluice;
  private final SluiceCodecs codecs;
  private final SluiceProperties.Producer settings;
  private final List<ProducerCustomizer> customizers;
  private final ConcurrentMap<String, QueueProducer> producers = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public SluiceTemplate(
      Sluice sluice,
      SluiceCodecs codecs,
      SluiceProperties.Producer settings,
      List<ProducerCustomizer> customizers) {
    this.sluice = sluice;
    this.codecs = codecs;
    this.settings = settings;
    this.customizers = List.copyOf(customizers);
  }

  /** Sends {@code payload} with the codec of its class (see {@link SluiceCodecs}). */
  @SuppressWarnings("unchecked")
  public SendResult send(String queue, Object payload) {
    Objects.requireNonNull(payload, "payload");
    if (payload instanceof OutgoingMessage message) {
      return send(queue, message);
    }
    return send(queue, (Codec<Object>) codecs.forClass(payload.getClass()), payload);
  }

  /** Sends {@code payload} encoded by {@code codec}. */
  public <T> SendResult send(String queue, Codec<T> codec, T payload) {
    return send(queue, OutgoingMessage.of(codec, payload));
  }

  /** Sends a message built by hand (headers, message id, trace). */
  public SendResult send(String queue, OutgoingMessage message) {
    return producer(queue).send(message);
  }

  /** Sends without blocking the caller; the future completes with the server's acknowledgement. */
  @SuppressWarnings("unchecked")
  public CompletableFuture<SendResult> sendAsync(String queue, Object payload) {
    Objects.requireNonNull(payload, "payload");
    Codec<Object> codec = (Codec<Object>) codecs.forClass(payload.getClass());
    return producer(queue).sendAsync(OutgoingMessage.of(codec, payload));
  }

  /**
   * The producer of {@code queue}, opened on first use.
   *
   * @throws IllegalStateException once the application context is closing
   */
  public QueueProducer producer(String queue) {
    if (closed) {
      throw new IllegalStateException(
          "the application context is closing: no more sends to " + queue);
    }
    return producers.computeIfAbsent(queue, this::open);
  }

  /** The producers opened so far, by queue. */
  public Map<String, QueueProducer> producers() {
    return Map.copyOf(producers);
  }

  private QueueProducer open(String queue) {
    QueueProducer.Builder b = sluice.producer(queue);
    if (settings.getAcquireTimeout() != null) {
      b.acquireTimeout(settings.getAcquireTimeout());
    }
    customizers.forEach(c -> c.customize(queue, b));
    return b.build();
  }

  /** Closes every producer (each returns its unspent credits). */
  @Override
  public void destroy() {
    closed = true;
    producers.values().forEach(QueueProducer::close);
    producers.clear();
  }
}
