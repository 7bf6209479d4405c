package dev.sluice.internal.topology;

import dev.sluice.TopologyException;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.Rates;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.support.JsonParseException;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads and validates a {@code jetstream-config/} directory: {@code streams/*.json} (stream
 * configurations), {@code consumers/*.json} (consumer create requests) and {@code queues/*.json}
 * (Sluice queue settings). A bad file fails with its path and the field named.
 */
public final class ConfigLoader {
  private enum T {
    STRING,
    INT,
    NUMBER,
    BOOL,
    STRINGS,
    OBJECT,
    ARRAY
  }

  private static final Map<String, T> STREAM_FIELDS =
      Map.ofEntries(
          Map.entry("name", T.STRING),
          Map.entry("description", T.STRING),
          Map.entry("subjects", T.STRINGS),
          Map.entry("retention", T.STRING),
          Map.entry("max_consumers", T.INT),
          Map.entry("max_msgs", T.INT),
          Map.entry("max_bytes", T.INT),
          Map.entry("max_age", T.INT),
          Map.entry("max_msgs_per_subject", T.INT),
          Map.entry("max_msg_size", T.INT),
          Map.entry("discard", T.STRING),
          Map.entry("storage", T.STRING),
          Map.entry("num_replicas", T.INT),
          Map.entry("duplicate_window", T.INT),
          Map.entry("allow_rollup_hdrs", T.BOOL),
          Map.entry("deny_delete", T.BOOL),
          Map.entry("deny_purge", T.BOOL),
          Map.entry("allow_direct", T.BOOL),
          Map.entry("mirror_direct", T.BOOL),
          Map.entry("sealed", T.BOOL),
          Map.entry("no_ack", T.BOOL),
          Map.entry("placement", T.OBJECT),
          Map.entry("metadata", T.OBJECT));
  private static final Map<String, T> CONSUMER_FIELDS =
      Map.ofEntries(
          Map.entry("durable_name", T.STRING),
          Map.entry("name", T.STRING),
          Map.entry("description", T.STRING),
          Map.entry("deliver_policy", T.STRING),
          Map.entry("ack_policy", T.STRING),
          Map.entry("ack_wait", T.INT),
          Map.entry("max_deliver", T.INT),
          Map.entry("filter_subject", T.STRING),
          Map.entry("replay_policy", T.STRING),
          Map.entry("max_ack_pending", T.INT),
          Map.entry("max_waiting", T.INT),
          Map.entry("max_batch", T.INT),
          Map.entry("max_expires", T.INT),
          Map.entry("inactive_threshold", T.INT),
          Map.entry("num_replicas", T.INT),
          Map.entry("mem_storage", T.BOOL),
          Map.entry("headers_only", T.BOOL),
          Map.entry("backoff", T.ARRAY),
          Map.entry("metadata", T.OBJECT));
  private static final Map<String, T> QUEUE_FIELDS =
      Map.of(
          "queue",
          T.STRING,
          "standing_buffer",
          T.INT,
          "token_batch",
          T.INT,
          "max_worker_capacity",
          T.INT,
          "max_window",
          T.INT,
          "fairness_weights",
          T.OBJECT,
          "rate_per_second",
          T.NUMBER,
          "rate_burst",
          T.INT);
  private static final Map<String, Set<String>> ENUMS =
      Map.of(
          "retention", Set.of("limits", "interest", "workqueue"),
          "discard", Set.of("old", "new"),
          "storage", Set.of("file", "memory"),
          "deliver_policy",
              Set.of(
                  "all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"),
          "ack_policy", Set.of("none", "all", "explicit"),
          "replay_policy", Set.of("instant", "original"));

  private ConfigLoader() {}

  /** Loads every definition under {@code dir}, streams first, then consumers, then queues. */
  public static List<Definition> load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new TopologyException(dir + ": not a directory (expected a jetstream-config/ tree)");
    }
    List<Definition> out = new ArrayList<>();
    for (Path f : files(dir.resolve("streams"))) {
      out.add(stream(f, read(f)));
    }
    for (Path f : files(dir.resolve("consumers"))) {
      out.add(consumer(f, read(f)));
    }
    for (Path f : files(dir.resolve("queues"))) {
      out.add(queue(f, read(f)));
    }
    if (out.isEmpty()) {
      throw new TopologyException(dir + ": no streams/, consumers/ or queues/ *.json files");
    }
    return out;
  }

  private static List<Path> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    } catch (IOException e) {
      throw new TopologyException(dir + ": cannot list: " + e.getMessage(), e);
    }
  }

  private static JsonValue read(Path f) {
    String text;
    try {
      text = Files.readString(f);
    } catch (IOException e) {
      throw new TopologyException(f + ": cannot read: " + e.getMessage(), e);
    }
    JsonValue v;
    try {
      v = JsonParser.parse(text);
    } catch (JsonParseException e) {
      throw new TopologyException(f + ": not valid JSON: " + e.getMessage(), e);
    }
    if (v.type != JsonValue.Type.MAP) {
      throw new TopologyException(f + ": expected a JSON object at the top level");
    }
    return v;
  }

  /** Validates a stream configuration from {@code source}. */
  public static Definition stream(Object source, JsonValue v) {
    check(source, "", v, STREAM_FIELDS);
    String name = requireString(source, v, "name");
    if (!name.matches("[A-Za-z0-9_-]{1,255}")) {
      throw bad(source, "name", "'" + name + "' may hold only letters, digits, _ and -");
    }
    return new Definition(Definition.Kind.STREAM, name, null, source.toString(), v);
  }

  /** Validates a consumer create request from {@code source}. */
  public static Definition consumer(Object source, JsonValue v) {
    check(source, "", v, Map.of("stream_name", T.STRING, "config", T.OBJECT));
    String stream = requireString(source, v, "stream_name");
    JsonValue config = v.map.get("config");
    if (config == null) {
      throw bad(source, "config", "required (the consumer configuration object)");
    }
    check(source, "config.", config, CONSUMER_FIELDS);
    String durable = optString(config, "durable_name");
    if (durable == null) {
      throw bad(source, "config.durable_name", "required: Sluice consumers are durable");
    }
    return new Definition(Definition.Kind.CONSUMER, durable, stream, source.toString(), v);
  }

  /** Validates Sluice queue settings from {@code source}. */
  public static Definition queue(Object source, JsonValue v) {
    check(source, "", v, QUEUE_FIELDS);
    String q = requireString(source, v, "queue");
    try {
      Protocol.requireQueueName(q);
    } catch (IllegalArgumentException e) {
      throw bad(source, "queue", e.getMessage());
    }
    JsonValue sb = v.map.get("standing_buffer");
    if (sb != null && sb.number.longValue() < 0) {
      throw bad(source, "standing_buffer", "must be >= 0, got " + sb.number);
    }
    JsonValue tb = v.map.get("token_batch");
    if (tb != null
        && (!Credits.isPowerOfTwo(tb.number.longValue())
            || tb.number.longValue() > Credits.MAX_TOKEN)) {
      throw bad(source, "token_batch", "must be a power of two <= 2^20, got " + tb.number);
    }
    for (String bound : List.of("max_worker_capacity", "max_window")) {
      JsonValue b = v.map.get(bound);
      if (b != null && b.number.longValue() < 1) {
        throw bad(source, bound, "must be >= 1, got " + b.number);
      }
    }
    JsonValue fw = v.map.get("fairness_weights"); // §15.3
    if (fw != null) {
      for (var e : fw.map.entrySet()) {
        String field = "fairness_weights." + e.getKey();
        if (!HeaderCheck.fairnessKey(e.getKey())) {
          throw bad(source, field, "a fairness key is 1-64 characters of [A-Za-z0-9_.:@-]");
        }
        JsonValue w = e.getValue();
        if (w.number == null || w.number.longValue() < 1 || w.number.longValue() > 10_000) {
          throw bad(source, field, "weight must be an integer in [1, 10000], got " + w.toJson());
        }
      }
    }
    JsonValue rate = v.map.get("rate_per_second");
    JsonValue burst = v.map.get("rate_burst");
    if (rate != null || burst != null) { // §15.2
      if (rate == null || burst == null) {
        throw bad(
            source,
            rate == null ? "rate_per_second" : "rate_burst",
            "required with "
                + (rate == null ? "rate_burst" : "rate_per_second")
                + ": a rate limit needs both (remove both to remove the limit)");
      }
      String why = Rates.invalid(rate.number.doubleValue(), burst.number.longValue());
      if (why != null) {
        throw bad(source, why.startsWith("burst") ? "rate_burst" : "rate_per_second", why);
      }
    }
    return new Definition(Definition.Kind.QUEUE, q, null, source.toString(), v);
  }

  private static void check(Object source, String prefix, JsonValue v, Map<String, T> fields) {
    for (var e : v.map.entrySet()) {
      String field = prefix + e.getKey();
      T want = fields.get(e.getKey());
      if (want == null) {
        throw bad(
            source, field, "unknown field (known: " + String.join(", ", sorted(fields)) + ")");
      }
      JsonValue val = e.getValue();
      boolean ok =
          switch (want) {
            case STRING -> val.type == JsonValue.Type.STRING;
            case INT ->
                val.type == JsonValue.Type.INTEGER
                    || val.type == JsonValue.Type.LONG
                    || val.type == JsonValue.Type.BIG_INTEGER;
            case NUMBER -> val.number != null;
            case BOOL -> val.type == JsonValue.Type.BOOL;
            case STRINGS ->
                val.type == JsonValue.Type.ARRAY
                    && val.array.stream().allMatch(x -> x.type == JsonValue.Type.STRING);
            case OBJECT -> val.type == JsonValue.Type.MAP;
            case ARRAY -> val.type == JsonValue.Type.ARRAY;
          };
      if (!ok) {
        throw bad(source, field, "expected " + describe(want) + ", got " + val.toJson());
      }
      Set<String> allowed = ENUMS.get(e.getKey());
      if (allowed != null && !allowed.contains(val.string)) {
        throw bad(
            source,
            field,
            "expected one of " + String.join("|", sorted(allowed)) + ", got '" + val.string + "'");
      }
    }
  }

  private static List<String> sorted(Map<String, ?> m) {
    return m.keySet().stream().sorted().toList();
  }

  private static List<String> sorted(Set<String> s) {
    return s.stream().sorted().toList();
  }

  private static String describe(T t) {
    return switch (t) {
      case STRING -> "a string";
      case INT -> "an integer";
      case NUMBER -> "a number";
      case BOOL -> "true or false";
      case STRINGS -> "an array of strings";
      case OBJECT -> "an object";
      case ARRAY -> "an array";
    };
  }

  private static String requireString(Object source, JsonValue v, String field) {
    String s = optString(v, field);
    if (s == null || s.isEmpty()) {
      throw bad(source, field, "required");
    }
    return s;
  }

  private static String optString(JsonValue v, String field) {
    JsonValue x = v.map.get(field);
    return x == null ? null : x.string;
  }

  private static TopologyException bad(Object source, String field, String what) {
    return new TopologyException(source + ": field '" + field + "': " + what);
  }
}
