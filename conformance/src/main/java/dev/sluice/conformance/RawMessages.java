package dev.sluice.conformance;

import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Malformed (or unhandled) messages the runner publishes itself, without credits, each with the
 * dead-letter reason a worker must give it (§7.1, §8.1). Msg ids are {@code raw-<kind>-<queue>}.
 */
final class RawMessages {
  private RawMessages() {}

  /**
   * One raw message: the reason it must be dead-lettered with, header changes, body, and values
   * appended after the first value of a header ({@code repeats}: a repeated header, §3).
   */
  record Raw(
      String reason,
      Map<String, String> overrides,
      byte[] body,
      Map<String, List<String>> repeats) {
    Raw(String reason, Map<String, String> overrides, byte[] body) {
      this(reason, overrides, body, Map.of());
    }

    /** The headers as published: a valid set with the overrides applied (null removes). */
    Headers headers(String queue, String id) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("Nats-Msg-Id", id);
      m.put("Sluice-Protocol", "1");
      m.put("Sluice-Type", Harness.TYPE);
      m.put("Sluice-Type-Version", "1");
      m.put("Content-Type", "application/json");
      m.put("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      m.put("X-Conformance", "kept");
      for (var e : overrides.entrySet()) {
        if (e.getValue() == null) {
          m.remove(e.getKey());
        } else {
          m.put(e.getKey(), e.getValue().replace("<q>", queue));
        }
      }
      Headers h = new Headers();
      m.forEach(h::add);
      repeats.forEach((name, values) -> values.forEach(v -> h.add(name, v)));
      return h;
    }
  }

  /** By kind, in publishing order. */
  static final Map<String, Raw> ALL = all();

  private static Map<String, Raw> all() {
    byte[] ok = JavaPeer.body(7, "ok");
    Map<String, Raw> m = new LinkedHashMap<>();
    Map<String, String> missing = new HashMap<>();
    missing.put("Sluice-Type", null);
    m.put("missing", new Raw("missing-header", missing, ok));
    m.put("bad", new Raw("bad-header", Map.of("Sluice-Type-Version", "01"), ok));
    m.put(
        "decode",
        new Raw(
            "decode-error",
            Map.of("Nats-Expected-Stream", "SLUICE_Q_<q>"),
            "not json".getBytes(StandardCharsets.UTF_8)));
    m.put("version", new Raw("unsupported-version", Map.of("Sluice-Type-Version", "9"), ok));
    m.put("type", new Raw("unknown-type", Map.of("Sluice-Type", "sluice.conformance.Unknown"), ok));
    // §3 [v1.2]: a repeated header is read by its first value. A worker that took the last value
    // would process these two instead of dead-lettering them; the record keeps every value.
    m.put(
        "repeatedversion",
        new Raw(
            "bad-header",
            Map.of("Sluice-Type-Version", "x"),
            ok,
            Map.of("Sluice-Type-Version", List.of("1"))));
    m.put(
        "repeatedtype",
        new Raw(
            "unknown-type",
            Map.of("Sluice-Type", "sluice.conformance.Unknown"),
            ok,
            Map.of("Sluice-Type", List.of(Harness.TYPE))));
    return m;
  }

  /** The raw message behind a msg id, or null for any other id. */
  static Raw of(String id) {
    // raw-<kind>-<queue>
    String[] parts = id.split("-", 3);
    return parts.length == 3 && parts[0].equals("raw") ? ALL.get(parts[1]) : null;
  }

  /** Publishes every raw message to the fleet's queue and records its expected reason. */
  static void publish(Harness h, Fleet f) throws Exception {
    for (var e : ALL.entrySet()) {
      String id = "raw-" + e.getKey() + "-" + f.queue;
      h.js.publish(
          NatsMessage.builder()
              .subject("sluice.q." + f.queue)
              .headers(e.getValue().headers(f.queue, id))
              .data(e.getValue().body())
              .build());
      f.raw.put(id, e.getValue().reason());
    }
  }
}
