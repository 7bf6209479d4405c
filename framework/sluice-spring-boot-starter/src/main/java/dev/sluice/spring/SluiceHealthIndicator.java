package dev.sluice.spring;

import dev.sluice.Health;
import dev.sluice.QueueProducer;
import dev.sluice.Worker;
import io.nats.client.Connection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Status;

/**
 * The {@code sluice} health contributor: the connection's status, each listener worker's {@link
 * Worker#health()} and each producer's counters. DOWN when the connection is not connected or a
 * worker is not live (restart the instance); OUT_OF_SERVICE when a worker is live but not ready
 * (starting, draining, circuit open, or its stream or consumer missing: the worker's {@code detail}
 * says which); UP otherwise.
 */
public class SluiceHealthIndicator extends AbstractHealthIndicator {
  private final Connection connection;
  private final ObjectProvider<SluiceListenerContainer> container;
  private final ObjectProvider<SluiceTemplate> template;

  public SluiceHealthIndicator(
      Connection connection,
      ObjectProvider<SluiceListenerContainer> container,
      ObjectProvider<SluiceTemplate> template) {
    super("Sluice health check failed");
    this.connection = connection;
    this.container = container;
    this.template = template;
  }

  @Override
  protected void doHealthCheck(org.springframework.boot.actuate.health.Health.Builder builder) {
    Connection.Status status = connection.getStatus();
    boolean down = status != Connection.Status.CONNECTED;
    boolean notReady = false;
    Map<String, Object> workers = new LinkedHashMap<>();
    SluiceListenerContainer c = container.getIfAvailable();
    if (c != null) {
      for (Map.Entry<String, Worker> e : c.workers().entrySet()) {
        Health h = e.getValue().health();
        down |= !h.live();
        notReady |= !h.ready();
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("workerId", e.getValue().workerId());
        w.put("state", h.state().name());
        w.put("live", h.live());
        w.put("ready", h.ready());
        w.put("inFlight", h.inFlight());
        w.put("processed", h.processed());
        w.put("deadLettered", h.deadLettered());
        if (!h.detail().isEmpty()) {
          w.put("detail", h.detail());
        }
        workers.put(e.getKey(), w);
      }
    }
    Map<String, Object> producers = new LinkedHashMap<>();
    SluiceTemplate t = template.getIfAvailable();
    if (t != null) {
      for (Map.Entry<String, QueueProducer> e : t.producers().entrySet()) {
        QueueProducer p = e.getValue();
        producers.put(
            e.getKey(),
            Map.of(
                "producerId", p.producerId(),
                "sent", p.sentTotal(),
                "waitingForCredit", p.waiting(),
                "creditsHeld", p.creditsHeld()));
      }
    }
    builder.status(down ? Status.DOWN : notReady ? Status.OUT_OF_SERVICE : Status.UP);
    builder.withDetail("connection", status.name());
    builder.withDetail("workers", workers);
    builder.withDetail("producers", producers);
  }
}
