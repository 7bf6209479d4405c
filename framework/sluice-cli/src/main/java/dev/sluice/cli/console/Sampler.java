package dev.sluice.cli.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code status} of every queue every interval, keeps it in the {@link History} and sends it
 * to the open pages as a {@code status} event: {@code {"connected": true, "server", "status":
 * <status --json>}} or, while NATS is away, {@code {"connected": false, "server", "error"}}.
 */
final class Sampler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Sampler.class);

  private final Backend backend;
  private final History history;
  private final EventHub hub;
  private final ObjectMapper mapper;
  private final ScheduledExecutorService timer;
  private volatile boolean wasConnected = true;

  Sampler(Backend backend, History history, EventHub hub, ObjectMapper mapper) {
    this.backend = backend;
    this.history = history;
    this.hub = hub;
    this.mapper = mapper;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sluice-console-sampler");
              t.setDaemon(true);
              return t;
            });
  }

  void start(Duration interval) {
    timer.scheduleWithFixedDelay(this::sample, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One sample; never throws (a failed sample is reported to the pages). */
  void sample() {
    ObjectNode event = mapper.createObjectNode();
    event.put("server", backend.server());
    try {
      JsonNode status = mapper.readTree(backend.queues());
      long t = status.path("time_unix_ms").asLong(System.currentTimeMillis());
      Set<String> names = new HashSet<>();
      for (JsonNode q : status.path("queues")) {
        String name = q.path("queue").asText();
        names.add(name);
        double[] values = new double[History.SERIES.size()];
        for (int i = 0; i < values.length; i++) {
          JsonNode v = q.get(History.SERIES.get(i));
          values[i] = v == null || !v.isNumber() ? Double.NaN : v.asDouble();
        }
        history.add(name, t, values);
      }
      history.retain(names);
      event.put("connected", true);
      event.set("status", status);
      if (!wasConnected) {
        log.info("reading {} again", backend.server());
      }
      wasConnected = true;
    } catch (ApiException e) {
      event.put("connected", backend.connected());
      event.put("error", e.getMessage());
      if (wasConnected) {
        log.warn("cannot read {}: {}", backend.server(), e.getMessage());
      }
      wasConnected = false;
    } catch (Exception e) {
      event.put("connected", backend.connected());
      event.put("error", "unexpected error: " + e);
      log.warn("sampling failed", e);
      wasConnected = false;
    }
    try {
      hub.publish("status", mapper.writeValueAsString(event));
    } catch (Exception e) {
      log.warn("cannot send the status event", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
