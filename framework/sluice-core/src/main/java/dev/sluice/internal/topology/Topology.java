package dev.sluice.internal.topology;

import dev.sluice.QueueSpec;
import dev.sluice.internal.schedule.ScheduleWire;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The protocol §2 topology of a queue, as definitions in NATS's JSON format. */
public final class Topology {
  private Topology() {}

  /** Every object queue {@code spec} needs, shared ones first. */
  public static List<Definition> forQueue(QueueSpec spec) {
    List<Definition> out = new ArrayList<>(shared(spec));
    String q = spec.queue();
    out.add(
        ConfigLoader.stream(
            "generated",
            obj(
                "name",
                Protocol.workStream(q),
                "subjects",
                arr(Protocol.workSubject(q)),
                "retention",
                "workqueue",
                "max_msgs",
                spec.hardLimit(),
                "max_msg_size",
                (long) spec.maxMessageSize(),
                "discard",
                "new",
                "storage",
                "file",
                "num_replicas",
                (long) spec.replicas(),
                "duplicate_window",
                nanos(Duration.ofMinutes(2)))));
    out.add(
        ConfigLoader.consumer(
            "generated",
            obj(
                "stream_name",
                Protocol.workStream(q),
                "config",
                obj(
                    "durable_name",
                    Protocol.WORKER_CONSUMER,
                    "deliver_policy",
                    "all",
                    "ack_policy",
                    "explicit",
                    "ack_wait",
                    nanos(spec.ackWait()),
                    "max_deliver",
                    -1L,
                    "max_ack_pending",
                    spec.maxAckPending(),
                    "max_waiting",
                    512L,
                    "replay_policy",
                    "instant"))));
    out.add(
        ConfigLoader.consumer(
            "generated",
            obj(
                "stream_name",
                Protocol.CREDIT_STREAM,
                "config",
                obj(
                    "durable_name",
                    Protocol.creditConsumer(q),
                    "deliver_policy",
                    "all",
                    "ack_policy",
                    "explicit",
                    "ack_wait",
                    nanos(spec.lease()),
                    "max_deliver",
                    -1L,
                    "filter_subject",
                    Protocol.creditFilter(q),
                    "max_ack_pending",
                    100_000L,
                    "max_waiting",
                    512L,
                    "replay_policy",
                    "instant"))));
    out.add(scheduleStream(q, spec.replicas(), spec.maxMessageSize()));
    JsonValue settings =
        obj(
            "queue", q,
            "standing_buffer", (long) spec.standingBuffer(),
            "token_batch", (long) spec.tokenBatch(),
            "max_worker_capacity", (long) spec.maxWorkerCapacity(),
            "max_window", (long) spec.maxWindow());
    if (!spec.fairnessWeights().isEmpty()) { // §15.3: absent when none, as before v1.3
      Map<String, JsonValue> w = new java.util.TreeMap<>();
      spec.fairnessWeights().forEach((k, v) -> w.put(k, new JsonValue((long) v)));
      settings.map.put("fairness_weights", new JsonValue(w));
    }
    if (spec.rateLimited()) { // §15.2
      settings.map.put("rate_per_second", new JsonValue(spec.ratePerSecond()));
      settings.map.put("rate_burst", new JsonValue((long) spec.rateBurst()));
    }
    out.add(ConfigLoader.queue("generated", settings));
    return out;
  }

  /**
   * The queue's schedule stream (§13.2): one subject per schedule, one message per subject (a new
   * write replaces, a purge cancels), kept until fired; never a work queue, so reading it for the
   * index consumes nothing.
   */
  static Definition scheduleStream(String q, long replicas, long maxMessageSize) {
    return ConfigLoader.stream(
        "generated",
        obj(
            "name",
            ScheduleWire.stream(q),
            "subjects",
            arr(ScheduleWire.filter(q)),
            "retention",
            "limits",
            "max_msgs_per_subject",
            1L,
            "max_msg_size",
            maxMessageSize,
            "discard",
            "old",
            "storage",
            "file",
            "num_replicas",
            replicas,
            "duplicate_window",
            nanos(Duration.ofMinutes(2))));
  }

  /** The objects every queue shares: credit and dead-letter streams, the three KV buckets. */
  public static List<Definition> shared(QueueSpec spec) {
    long r = spec.replicas();
    return List.of(
        ConfigLoader.stream(
            "generated",
            obj(
                "name",
                Protocol.CREDIT_STREAM,
                "subjects",
                arr("sluice.credit.>"),
                "retention",
                "workqueue",
                "discard",
                "old",
                "storage",
                "file",
                "num_replicas",
                r,
                "duplicate_window",
                nanos(Duration.ofMinutes(2)))),
        ConfigLoader.stream(
            "generated",
            obj(
                "name",
                Protocol.DLQ_STREAM,
                "subjects",
                arr("sluice.dlq.>"),
                "retention",
                "limits",
                "max_age",
                nanos(spec.deadLetterMaxAge()),
                "discard",
                "old",
                "storage",
                "file",
                "num_replicas",
                r,
                "duplicate_window",
                nanos(Duration.ofMinutes(10)))),
        kv(Protocol.CAPACITY_BUCKET, Duration.ofSeconds(60), r),
        kv(Protocol.CONTROL_BUCKET, Duration.ZERO, r),
        kv(Protocol.PROCESSED_BUCKET, spec.idempotencyWindow(), r));
  }

  /** A KV bucket as the stream a JetStream client would create for it. */
  static Definition kv(String bucket, Duration maxAge, long replicas) {
    Duration dup =
        maxAge.isZero() || maxAge.compareTo(Duration.ofMinutes(2)) > 0
            ? Duration.ofMinutes(2)
            : maxAge;
    return ConfigLoader.stream(
        "generated",
        obj(
            "name",
            "KV_" + bucket,
            "subjects",
            arr("$KV." + bucket + ".>"),
            "retention",
            "limits",
            "max_msgs_per_subject",
            1L,
            "max_age",
            nanos(maxAge),
            "discard",
            "new",
            "storage",
            "file",
            "num_replicas",
            replicas,
            "duplicate_window",
            nanos(dup),
            "allow_rollup_hdrs",
            true,
            "deny_delete",
            true,
            "allow_direct",
            true));
  }

  static long nanos(Duration d) {
    return d.toNanos();
  }

  static JsonValue arr(String... values) {
    List<JsonValue> l = new ArrayList<>();
    for (String v : values) {
      l.add(new JsonValue(v));
    }
    return new JsonValue(l);
  }

  static JsonValue obj(Object... kv) {
    Map<String, JsonValue> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      Object v = kv[i + 1];
      JsonValue jv;
      if (v instanceof JsonValue j) {
        jv = j;
      } else if (v instanceof String s) {
        jv = new JsonValue(s);
      } else if (v instanceof Long l) {
        jv = new JsonValue(l);
      } else if (v instanceof Boolean b) {
        jv = new JsonValue(b);
      } else {
        throw new IllegalArgumentException("unsupported " + v);
      }
      m.put((String) kv[i], jv);
    }
    return new JsonValue(m);
  }
}
