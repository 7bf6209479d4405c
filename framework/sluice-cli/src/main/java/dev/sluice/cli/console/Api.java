package dev.sluice.cli.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON API under {@code /api/}: the CLI's {@code --json} documents (see {@link Backend}), the
 * sampled history and the live event stream. Routes are listed in docs/CONSOLE.md.
 */
final class Api {
  private static final int MAX_BODY = 64 * 1024;

  private final Backend backend;
  private final History history;
  private final EventHub hub;
  private final Guard guard;
  private final ObjectMapper mapper;
  private final long intervalMs;

  Api(
      Backend backend,
      History history,
      EventHub hub,
      Guard guard,
      ObjectMapper mapper,
      long intervalMs) {
    this.backend = backend;
    this.history = history;
    this.hub = hub;
    this.guard = guard;
    this.mapper = mapper;
    this.intervalMs = intervalMs;
  }

  /** Answers one request to {@code /api/...}: a JSON text, or throws an {@link ApiException}. */
  String handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    List<String> p = segments(ex.getRequestURI().getRawPath());
    Map<String, String> query = query(ex.getRequestURI().getRawQuery());
    boolean get = method.equals("GET") || method.equals("HEAD");
    // p.get(0) is "api"
    if (p.size() == 2 && get) {
      switch (p.get(1)) {
        case "console":
          return console();
        case "queues":
          return backend.queues();
        case "history":
          return historyJson();
        case "dlq":
          return backend.deadLetters(
              null, query.get("reason"), query.get("type"), intParam(query, "limit", 1000));
        case "events":
          hub.serve(ex);
          return null;
        default:
          break;
      }
    }
    if (p.size() == 3 && p.get(1).equals("messages") && get) {
      return backend.message(p.get(2));
    }
    if (p.size() >= 3 && p.get(1).equals("queues")) {
      String q = p.get(2);
      if (p.size() == 3 && get) {
        return backend.queue(q);
      }
      String what = p.size() > 3 ? p.get(3) : "";
      if (p.size() == 4 && get) {
        switch (what) {
          case "workers":
            return backend.workers(q);
          case "credits":
            return backend.credits(q);
          case "explain":
            return backend.explain(q);
          case "dlq":
            return backend.deadLetters(
                q, query.get("reason"), query.get("type"), intParam(query, "limit", 1000));
          default:
            break;
        }
      }
      if (p.size() == 5 && what.equals("dlq")) {
        String action = p.get(4);
        if (method.equals("POST") && (action.equals("replay") || action.equals("purge"))) {
          guard.checkWrite(ex);
          JsonNode body = body(ex);
          if (action.equals("purge")) {
            return backend.purge(q);
          }
          return backend.replay(
              q,
              body.hasNonNull("seq") ? body.get("seq").asLong() : null,
              text(body, "reason"),
              text(body, "type"),
              body.path("all").asBoolean(false),
              body.hasNonNull("limit") ? body.get("limit").asInt() : null,
              body.path("dry_run").asBoolean(false));
        }
        if (get && action.matches("[0-9]{1,18}")) {
          return backend.deadLetter(q, Long.parseLong(action));
        }
      }
    }
    if (!get && !method.equals("POST")) {
      throw new ApiException(405, 2, method + " is not supported: the API takes GET and POST");
    }
    throw new ApiException(
        404, 4, "no such API route: " + method + " " + ex.getRequestURI().getPath());
  }

  private String console() throws IOException {
    ObjectNode m = mapper.createObjectNode();
    m.put("server", backend.server());
    m.put("connected", backend.connected());
    m.put("allow_writes", guard.allowWrites());
    m.put("sample_interval_ms", intervalMs);
    m.put("write_header", Guard.HEADER);
    m.set("dlq_reasons", mapper.valueToTree(backend.reasons()));
    return mapper.writeValueAsString(m);
  }

  private String historyJson() throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("interval_ms", intervalMs);
    m.put("series", History.SERIES);
    m.put("queues", history.columns());
    return mapper.writeValueAsString(m);
  }

  private JsonNode body(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      byte[] b = in.readNBytes(MAX_BODY + 1);
      if (b.length > MAX_BODY) {
        throw new ApiException(413, 2, "request body over " + MAX_BODY + " bytes");
      }
      if (b.length == 0) {
        return mapper.createObjectNode();
      }
      try {
        JsonNode n = mapper.readTree(b);
        if (n == null || !n.isObject()) {
          throw new ApiException(400, 2, "the body must be a JSON object");
        }
        return n;
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new ApiException(
            400, 2, "the body is not JSON: " + e.getOriginalMessage() + " (send a JSON object)");
      }
    }
  }

  private static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
  }

  private static int intParam(Map<String, String> query, String name, int dflt) {
    String v = query.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Math.max(1, Integer.parseInt(v));
    } catch (NumberFormatException e) {
      throw new ApiException(400, 2, name + "=" + v + " is not a number");
    }
  }

  static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        out.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  static Map<String, String> query(String raw) {
    Map<String, String> m = new LinkedHashMap<>();
    if (raw == null) {
      return m;
    }
    for (String kv : raw.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      if (!v.isEmpty()) {
        m.put(k, v);
      }
    }
    return m;
  }
}
