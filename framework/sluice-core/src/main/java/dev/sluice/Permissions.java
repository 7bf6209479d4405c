package dev.sluice;

import dev.sluice.internal.schedule.ScheduleWire;
import dev.sluice.internal.wire.Protocol;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The least NATS subjects a Sluice role needs on one queue (protocol §2.1 [v1.1],
 * docs/SECURITY.md), in nats-server's own permission structure: {@code publish} and {@code
 * subscribe}, each with {@code allow} and {@code deny} lists. Give a nats-server {@code
 * authorization} or account user exactly these and the server refuses everything else, for example
 * a producer publishing a credit token or a capacity advert (which would raise the window).
 * Immutable and thread-safe.
 *
 * <p>The sets assume jnats' default inbox prefix {@code _INBOX}; a client that sets another prefix
 * needs it in {@code subscribe.allow} instead.
 */
public final class Permissions {
  /** A Sluice role. The reconciler runs inside workers, so it has no role of its own. */
  public enum Role {
    /** Sends work; pulls, holds and acks credit tokens; writes its own producer report. */
    PRODUCER,
    /** Processes work; mints tokens; writes adverts, dead letters, processed ids; reconciles. */
    WORKER,
    /**
     * Provisions, inspects and repairs queues ({@code scripts/sluice}): the JetStream API, the
     * queue's settings, replay into the queue, the standing buffer's tokens.
     */
    OPERATOR;

    /** The role named {@code name}, case-insensitive; throws naming the valid roles. */
    public static Role parse(String name) {
      try {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown role '" + name + "': use producer, worker or operator");
      }
    }
  }

  /**
   * One direction's rules: subjects allowed and subjects denied (a deny wins over an allow).
   *
   * @param allow subjects (with NATS wildcards) the user may use; nothing else is allowed
   * @param deny subjects refused even when an allow matches
   */
  public record Rules(List<String> allow, List<String> deny) {
    /** Copies the lists. */
    public Rules {
      allow = List.copyOf(allow);
      deny = List.copyOf(deny);
    }
  }

  private static final String INBOXES = "_INBOX.>";
  private static final String API = "$JS.API.";

  private final Role role;
  private final String queue;
  private final Rules publish;
  private final Rules subscribe;

  private Permissions(Role role, String queue, Rules publish, Rules subscribe) {
    this.role = role;
    this.queue = queue;
    this.publish = publish;
    this.subscribe = subscribe;
  }

  /**
   * The permissions of {@code role} on {@code queue}.
   *
   * @throws IllegalArgumentException if {@code queue} is not a valid queue name (§1)
   */
  public static Permissions of(Role role, String queue) {
    Objects.requireNonNull(role, "role");
    String q = Protocol.requireQueueName(queue);
    List<String> pub =
        switch (role) {
          case PRODUCER -> producer(q);
          case WORKER -> worker(q);
          case OPERATOR -> operator(q);
        };
    return new Permissions(
        role, q, new Rules(pub, deny(role, q)), new Rules(List.of(INBOXES), List.of()));
  }

  /** The role these permissions are for. */
  public Role role() {
    return role;
  }

  /** The queue these permissions are for. */
  public String queue() {
    return queue;
  }

  /** Subjects the role may and may not publish to (JetStream API calls and acks included). */
  public Rules publish() {
    return publish;
  }

  /** Subjects the role may and may not subscribe to (replies arrive on inboxes). */
  public Rules subscribe() {
    return subscribe;
  }

  /**
   * {@code {"publish": {"allow": [...], "deny": [...]}, "subscribe": {...}}}: nats-server's
   * permission structure, ready for a JSON encoder.
   */
  public Map<String, Map<String, List<String>>> toMap() {
    Map<String, Map<String, List<String>>> m = new LinkedHashMap<>();
    m.put("publish", rules(publish));
    m.put("subscribe", rules(subscribe));
    return m;
  }

  /**
   * The {@code permissions} block of a nats-server {@code authorization} user in the server's
   * configuration syntax, e.g. {@code { user: p, password: s, permissions: <this> }}. Subjects are
   * quoted, because an unquoted {@code $} starts a variable in that syntax.
   */
  public String toServerConfig() {
    StringBuilder b = new StringBuilder();
    b.append("# Sluice ")
        .append(role.name().toLowerCase(Locale.ROOT))
        .append(" of queue ")
        .append(queue)
        .append('\n')
        .append("permissions: {\n");
    block(b, "publish", publish);
    block(b, "subscribe", subscribe);
    return b.append("}\n").toString();
  }

  private static void block(StringBuilder b, String name, Rules r) {
    b.append("  ").append(name).append(": {\n");
    b.append("    allow: ").append(list(r.allow())).append('\n');
    if (!r.deny().isEmpty()) {
      b.append("    deny: ").append(list(r.deny())).append('\n');
    }
    b.append("  }\n");
  }

  private static String list(List<String> subjects) {
    return subjects.stream()
        .map(s -> "\"" + s + "\"")
        .collect(Collectors.joining(",\n            ", "[\n            ", "\n          ]"));
  }

  private static Map<String, List<String>> rules(Rules r) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    m.put("allow", r.allow());
    m.put("deny", r.deny());
    return m;
  }

  private static List<String> producer(String q) {
    List<String> s = new ArrayList<>();
    s.add(Protocol.workSubject(q));
    s.add(API + "INFO");
    s.add(streamInfo(Protocol.workStream(q)));
    s.add(streamInfo(kvStream(Protocol.CONTROL_BUCKET)));
    s.add(streamInfo(kvStream(Protocol.CAPACITY_BUCKET)));
    pullFrom(s, Protocol.CREDIT_STREAM, Protocol.creditConsumer(q));
    s.add(kv(Protocol.CONTROL_BUCKET, "producer." + q + ".*"));
    s.add(kvGet(Protocol.CONTROL_BUCKET, "queue." + q));
    watch(s, Protocol.CAPACITY_BUCKET, q + ".*");
    schedules(s, q);
    return s;
  }

  /**
   * Scheduling (§13): write and cancel entries; fire them as a {@code Scheduler} (index with an
   * ordered consumer, re-read, delete, hold the firing lease).
   */
  private static void schedules(List<String> s, String q) {
    String stream = ScheduleWire.stream(q);
    s.add(ScheduleWire.filter(q).replace(">", "*"));
    s.add(streamInfo(stream));
    s.add(API + "STREAM.PURGE." + stream);
    s.add(API + "STREAM.MSG.GET." + stream);
    s.add(API + "STREAM.MSG.DELETE." + stream);
    s.add(API + "CONSUMER.CREATE." + stream);
    s.add(API + "CONSUMER.CREATE." + stream + ".*." + ScheduleWire.filter(q));
    s.add(API + "CONSUMER.INFO." + stream + ".*");
    s.add(API + "CONSUMER.DELETE." + stream + ".*");
    s.add("$JS.FC." + stream + ".>");
    s.add(kv(Protocol.CONTROL_BUCKET, ScheduleWire.leaseKey(q)));
    s.add(kvGet(Protocol.CONTROL_BUCKET, ScheduleWire.leaseKey(q)));
  }

  private static List<String> worker(String q) {
    List<String> s = new ArrayList<>();
    s.add(API + "INFO");
    for (String stream :
        List.of(
            Protocol.workStream(q),
            Protocol.CREDIT_STREAM,
            Protocol.DLQ_STREAM,
            kvStream(Protocol.CAPACITY_BUCKET),
            kvStream(Protocol.CONTROL_BUCKET),
            kvStream(Protocol.PROCESSED_BUCKET))) {
      s.add(streamInfo(stream));
    }
    pullFrom(s, Protocol.workStream(q), Protocol.WORKER_CONSUMER);
    // The reconciler burns a surplus by pulling and acking tokens.
    pullFrom(s, Protocol.CREDIT_STREAM, Protocol.creditConsumer(q));
    s.add(Protocol.creditFilter(q).replace(">", "*"));
    s.add(Protocol.dlqSubject(q));
    s.add(kv(Protocol.CAPACITY_BUCKET, q + ".*"));
    s.add(kv(Protocol.CONTROL_BUCKET, "reconciler." + q));
    s.add(kv(Protocol.CONTROL_BUCKET, "producer." + q + ".*"));
    s.add(kv(Protocol.PROCESSED_BUCKET, q + ".*"));
    s.add(kvGet(Protocol.CONTROL_BUCKET, "queue." + q));
    s.add(kvGet(Protocol.CONTROL_BUCKET, "reconciler." + q));
    s.add(kvGet(Protocol.PROCESSED_BUCKET, q + ".*"));
    s.add(API + "STREAM.MSG.GET." + kvStream(Protocol.PROCESSED_BUCKET));
    watch(s, Protocol.CAPACITY_BUCKET, q + ".*");
    watch(s, Protocol.CONTROL_BUCKET, "producer." + q + ".*");
    return s;
  }

  private static List<String> operator(String q) {
    // The operator provisions the shared streams and buckets, so its JetStream API rights cannot
    // be narrowed to one queue: it is an administrator of every queue's objects.
    return List.of(
        API + ">",
        "$JS.ACK.>",
        "$JS.FC.>",
        kv(Protocol.CONTROL_BUCKET, "queue." + q),
        Protocol.workSubject(q),
        Protocol.creditFilter(q).replace(">", "*"));
  }

  /** Subjects refused even if an allow matched: what would raise the window, per role. */
  private static List<String> deny(Role role, String q) {
    return switch (role) {
      case PRODUCER ->
          List.of(
              "sluice.credit.>",
              kv(Protocol.CAPACITY_BUCKET, ">"),
              kv(Protocol.CONTROL_BUCKET, "queue.>"),
              kv(Protocol.CONTROL_BUCKET, "reconciler.>"));
      case WORKER -> List.of(kv(Protocol.CONTROL_BUCKET, "queue.>"));
      case OPERATOR -> List.of();
    };
  }

  private static void pullFrom(List<String> s, String stream, String consumer) {
    s.add(API + "CONSUMER.INFO." + stream + "." + consumer);
    s.add(API + "CONSUMER.MSG.NEXT." + stream + "." + consumer);
    s.add("$JS.ACK." + stream + "." + consumer + ".>");
  }

  /**
   * A KV watch is an ordered consumer: created with a filter in the subject on servers from 2.10
   * (scoped to {@code keys}) or in the request body on 2.9 (not scoped), read back, deleted on
   * close, with flow-control replies.
   */
  private static void watch(List<String> s, String bucket, String keys) {
    String stream = kvStream(bucket);
    s.add(API + "CONSUMER.CREATE." + stream);
    s.add(API + "CONSUMER.CREATE." + stream + ".*." + kv(bucket, keys));
    s.add(API + "CONSUMER.INFO." + stream + ".*");
    s.add(API + "CONSUMER.DELETE." + stream + ".*");
    s.add("$JS.FC." + stream + ".>");
  }

  private static String streamInfo(String stream) {
    return API + "STREAM.INFO." + stream;
  }

  private static String kvStream(String bucket) {
    return "KV_" + bucket;
  }

  private static String kv(String bucket, String keys) {
    return "$KV." + bucket + "." + keys;
  }

  private static String kvGet(String bucket, String keys) {
    return API + "DIRECT.GET." + kvStream(bucket) + "." + kv(bucket, keys);
  }

  @Override
  public String toString() {
    return "Permissions[" + role + " of " + queue + "]";
  }
}
