package dev.sluice.internal.topology;

import dev.sluice.ApplyReport;
import dev.sluice.ApplyReport.Action;
import dev.sluice.ApplyReport.Change;
import dev.sluice.TopologyException;
import dev.sluice.internal.credit.Bootstrap;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.nats.ApiErrors;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies definitions to a server idempotently: creates what is missing, updates what differs where
 * JetStream allows, and reports every difference it could not change.
 */
public final class ConfigApplier {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigApplier.class);

  private final Connection nc;
  private final JetStreamManagement jsm;
  private final boolean dryRun;

  public ConfigApplier(Connection nc, boolean dryRun) {
    this.nc = nc;
    this.dryRun = dryRun;
    try {
      this.jsm = nc.jetStreamManagement();
    } catch (IOException e) {
      throw new TopologyException("JetStream is not available on " + nc.getConnectedUrl(), e);
    }
  }

  /** Applies {@code defs} in order. */
  public ApplyReport apply(List<Definition> defs) {
    List<Change> changes = new ArrayList<>();
    for (Definition d : defs) {
      try {
        changes.add(
            switch (d.kind()) {
              case STREAM -> stream(d);
              case CONSUMER -> consumer(d);
              case QUEUE -> queue(d);
            });
      } catch (IOException e) {
        throw new TopologyException(
            d.source() + ": " + d.kind().label() + " " + d.displayName() + ": " + e.getMessage(),
            e);
      } catch (JetStreamApiException e) {
        throw new TopologyException(
            d.source()
                + ": "
                + d.kind().label()
                + " "
                + d.displayName()
                + ": the server refused it: "
                + e.getMessage(),
            e);
      }
    }
    return new ApplyReport(changes);
  }

  private Change stream(Definition d) throws IOException, JetStreamApiException {
    StreamInfo info;
    try {
      info = jsm.getStreamInfo(d.name());
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != ApiErrors.STREAM_NOT_FOUND) {
        throw e;
      }
      if (!dryRun) {
        jsm.addStream(StreamConfiguration.instance(d.json().toJson()));
        LOG.info("created stream {}", d.name());
      }
      return change(d, dryRun ? Action.WOULD_CREATE : Action.CREATED, List.of("(new)"));
    }
    Map<String, JsonValue> server = JsonParser.parse(info.getConfiguration().toJson()).map;
    List<String> diffs = diff(server, d.json().map);
    if (diffs.isEmpty()) {
      return change(d, Action.UNCHANGED, List.of());
    }
    if (dryRun) {
      return change(d, Action.WOULD_CHANGE, diffs);
    }
    Map<String, JsonValue> merged = new LinkedHashMap<>(server);
    merged.putAll(d.json().map);
    try {
      jsm.updateStream(StreamConfiguration.instance(new JsonValue(merged).toJson()));
      LOG.info("updated stream {}: {}", d.name(), diffs);
      return change(d, Action.UPDATED, diffs);
    } catch (JetStreamApiException e) {
      return change(d, Action.CONFLICT, withCause(diffs, e));
    }
  }

  private Change consumer(Definition d) throws IOException, JetStreamApiException {
    JsonValue config = d.json().map.get("config");
    ConsumerInfo info;
    try {
      info = jsm.getConsumerInfo(d.stream(), d.name());
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != ApiErrors.CONSUMER_NOT_FOUND
          && e.getApiErrorCode() != ApiErrors.STREAM_NOT_FOUND) {
        throw e;
      }
      if (!dryRun) {
        jsm.addOrUpdateConsumer(
            d.stream(), ConsumerConfiguration.builder().json(config.toJson()).build());
        LOG.info("created consumer {}", d.displayName());
      }
      return change(d, dryRun ? Action.WOULD_CREATE : Action.CREATED, List.of("(new)"));
    }
    Map<String, JsonValue> server = JsonParser.parse(info.getConsumerConfiguration().toJson()).map;
    List<String> diffs = diff(server, config.map);
    if (diffs.isEmpty()) {
      return change(d, Action.UNCHANGED, List.of());
    }
    if (dryRun) {
      return change(d, Action.WOULD_CHANGE, diffs);
    }
    Map<String, JsonValue> merged = new LinkedHashMap<>(server);
    merged.putAll(config.map);
    try {
      jsm.addOrUpdateConsumer(
          d.stream(), ConsumerConfiguration.builder().json(new JsonValue(merged).toJson()).build());
      LOG.info("updated consumer {}: {}", d.displayName(), diffs);
      return change(d, Action.UPDATED, diffs);
    } catch (JetStreamApiException e) {
      return change(d, Action.CONFLICT, withCause(diffs, e));
    }
  }

  private Change queue(Definition d) throws IOException, JetStreamApiException {
    Map<String, JsonValue> m = d.json().map;
    QueueSettings wanted =
        QueueSettings.newBuilder()
            .setQueue(d.name())
            .setStandingBuffer(intOr(m.get("standing_buffer"), 0))
            .setTokenBatch(intOr(m.get("token_batch"), QueueConfig.DEFAULT_TOKEN_BATCH))
            .setMaxWorkerCapacity(
                intOr(m.get("max_worker_capacity"), QueueConfig.DEFAULT_MAX_WORKER_CAPACITY))
            .setMaxWindow(intOr(m.get("max_window"), QueueConfig.DEFAULT_MAX_WINDOW))
            .putAllFairnessWeights(fairnessWeights(m.get("fairness_weights")))
            .setRatePerSecond(
                m.get("rate_per_second") == null
                    ? 0
                    : m.get("rate_per_second").number.doubleValue())
            .setRateBurst(intOr(m.get("rate_burst"), 0))
            .build();
    KeyValue kv = null;
    KeyValueEntry e;
    try {
      kv = nc.keyValue(Protocol.CONTROL_BUCKET);
      e = kv.get(Protocol.settingsKey(d.name()));
    } catch (IOException | JetStreamApiException missing) {
      // jnats reports a missing bucket from keyValue() as an IOException around the API error.
      if (!dryRun || !bucketMissing(missing)) {
        throw missing;
      }
      e = null; // a dry run on a fresh server: the bucket would be created first
    }
    QueueSettings current = null;
    if (e != null && e.getValue() != null) {
      current = QueueSettings.parseFrom(e.getValue());
    }
    if (wanted.equals(current)) {
      return change(d, Action.UNCHANGED, List.of());
    }
    List<String> diffs = new ArrayList<>();
    if (current == null) {
      diffs.add("(new)");
    } else {
      if (current.getStandingBuffer() != wanted.getStandingBuffer()) {
        diffs.add(
            "standing_buffer: server="
                + current.getStandingBuffer()
                + ", wanted="
                + wanted.getStandingBuffer());
      }
      if (current.getTokenBatch() != wanted.getTokenBatch()) {
        diffs.add(
            "token_batch: server="
                + current.getTokenBatch()
                + ", wanted="
                + wanted.getTokenBatch());
      }
      if (current.getMaxWorkerCapacity() != wanted.getMaxWorkerCapacity()) {
        diffs.add(
            "max_worker_capacity: server="
                + current.getMaxWorkerCapacity()
                + ", wanted="
                + wanted.getMaxWorkerCapacity());
      }
      if (current.getMaxWindow() != wanted.getMaxWindow()) {
        diffs.add(
            "max_window: server=" + current.getMaxWindow() + ", wanted=" + wanted.getMaxWindow());
      }
      if (!current.getFairnessWeightsMap().equals(wanted.getFairnessWeightsMap())) {
        diffs.add(
            "fairness_weights: server="
                + new java.util.TreeMap<>(current.getFairnessWeightsMap())
                + ", wanted="
                + new java.util.TreeMap<>(wanted.getFairnessWeightsMap()));
      }
      if (current.getRatePerSecond() != wanted.getRatePerSecond()
          || current.getRateBurst() != wanted.getRateBurst()) { // §15.2
        diffs.add(
            "rate_limit: server="
                + RateText.of(current.getRatePerSecond(), current.getRateBurst())
                + ", wanted="
                + RateText.of(wanted.getRatePerSecond(), wanted.getRateBurst()));
      }
    }
    if (dryRun) {
      return change(d, current == null ? Action.WOULD_CREATE : Action.WOULD_CHANGE, diffs);
    }
    kv.put(Protocol.settingsKey(d.name()), wanted.toByteArray());
    if (current == null && wanted.getStandingBuffer() > 0) {
      Bootstrap.mintStandingBuffer(
          nc, d.name(), wanted.getStandingBuffer(), wanted.getTokenBatch());
    }
    return change(d, current == null ? Action.CREATED : Action.UPDATED, diffs);
  }

  private static boolean bucketMissing(Exception e) {
    Throwable t = e;
    while (t != null) {
      if (t instanceof JetStreamApiException api) {
        return api.getApiErrorCode() == ApiErrors.STREAM_NOT_FOUND;
      }
      t = t.getCause();
    }
    return false;
  }

  private static Map<String, Integer> fairnessWeights(JsonValue v) {
    Map<String, Integer> out = new java.util.TreeMap<>();
    if (v != null && v.map != null) {
      v.map.forEach((k, w) -> out.put(k, w.number.intValue()));
    }
    return out;
  }

  private static int intOr(JsonValue v, int dflt) {
    return v == null ? dflt : v.number.intValue();
  }

  /** One line per field of {@code wanted} whose value differs on the server. */
  static List<String> diff(Map<String, JsonValue> server, Map<String, JsonValue> wanted) {
    List<String> out = new ArrayList<>();
    for (var e : wanted.entrySet()) {
      JsonValue have = server.get(e.getKey());
      String w = canonical(e.getValue());
      String h = have == null ? null : canonical(have);
      if (h == null ? !isDefault(w) : !h.equals(w)) {
        out.add(e.getKey() + ": server=" + (h == null ? "(absent)" : h) + ", wanted=" + w);
      }
    }
    return out;
  }

  private static String canonical(JsonValue v) {
    return switch (v.type) {
      case INTEGER, LONG, BIG_INTEGER, BIG_DECIMAL, DOUBLE, FLOAT ->
          Long.toString(v.number.longValue());
      case STRING -> v.string;
      case BOOL -> v.bool.toString();
      case NULL -> "null";
      default -> v.toJson();
    };
  }

  private static boolean isDefault(String v) {
    return Objects.equals(v, "false")
        || Objects.equals(v, "0")
        || Objects.equals(v, "-1")
        || Objects.equals(v, "")
        || Objects.equals(v, "[]")
        || Objects.equals(v, "{}");
  }

  private static List<String> withCause(List<String> diffs, JetStreamApiException e) {
    List<String> out = new ArrayList<>(diffs);
    out.add("server refused the update: " + e.getMessage());
    return out;
  }

  private static Change change(Definition d, Action a, List<String> diffs) {
    return new Change(d.kind().label(), d.displayName(), d.source(), a, List.copyOf(diffs));
  }
}
