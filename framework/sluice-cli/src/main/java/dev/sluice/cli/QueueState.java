package dev.sluice.cli;

import dev.sluice.internal.credit.Ledgers;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.proto.WorkerState;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import java.io.IOException;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** One reading of everything the CLI knows about a queue, and what follows from it. */
final class QueueState {
  static final int STREAM_NOT_FOUND = 10059;
  static final int CONSUMER_NOT_FOUND = 10014;

  /** A KV entry decoded. */
  record Entry<T>(String key, T value) {}

  final String queue;
  final long now;
  final StreamInfo work;
  final ConsumerInfo consumer; // null when missing
  final List<CapacityAdvert> adverts; // every advert found, live or not
  final List<ProducerReport> producers; // every report found, live or not
  final ReconcilerLease lease; // null when absent
  final QueueSettings settings; // null when absent
  final long tokens;
  final Long deadLetters; // null when SLUICE_DLQ is missing

  private QueueState(
      String queue,
      long now,
      StreamInfo work,
      ConsumerInfo consumer,
      List<CapacityAdvert> adverts,
      List<ProducerReport> producers,
      ReconcilerLease lease,
      QueueSettings settings,
      long tokens,
      Long deadLetters) {
    this.queue = queue;
    this.now = now;
    this.work = work;
    this.consumer = consumer;
    this.adverts = adverts;
    this.producers = producers;
    this.lease = lease;
    this.settings = settings;
    this.tokens = tokens;
    this.deadLetters = deadLetters;
  }

  /** Reads queue {@code q}; throws a not-found {@link CliException} when it has no work stream. */
  static QueueState read(Connect.Session s, String q) throws Exception {
    try {
      Protocol.requireQueueName(q);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    StreamInfo work;
    try {
      work = s.jsm.getStreamInfo(Protocol.workStream(q));
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
        throw notFound(s, q);
      }
      throw e;
    }
    ConsumerInfo ci = null;
    try {
      ci = s.jsm.getConsumerInfo(Protocol.workStream(q), Protocol.WORKER_CONSUMER);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != CONSUMER_NOT_FOUND) {
        throw e;
      }
    }
    List<CapacityAdvert> adverts = new ArrayList<>();
    for (Entry<byte[]> e : entries(s, Protocol.CAPACITY_BUCKET, q + ".*")) {
      try {
        adverts.add(CapacityAdvert.parseFrom(e.value()));
      } catch (Exception ignored) {
        // an unreadable advert counts as absent, as it does for producers
      }
    }
    List<ProducerReport> producers = new ArrayList<>();
    ReconcilerLease lease = null;
    QueueSettings settings = null;
    for (Entry<byte[]> e : entries(s, Protocol.CONTROL_BUCKET, "producer." + q + ".*")) {
      try {
        producers.add(ProducerReport.parseFrom(e.value()));
      } catch (Exception ignored) {
        // skip
      }
    }
    byte[] l = get(s, Protocol.CONTROL_BUCKET, Protocol.reconcilerKey(q));
    if (l != null) {
      lease = ReconcilerLease.parseFrom(l);
    }
    byte[] st = get(s, Protocol.CONTROL_BUCKET, Protocol.settingsKey(q));
    if (st != null) {
      settings = QueueSettings.parseFrom(st);
    }
    long tokens;
    try {
      tokens = Ledgers.tokens(s.jsm, q);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != STREAM_NOT_FOUND) {
        throw e;
      }
      tokens = 0;
    }
    return new QueueState(
        q,
        System.currentTimeMillis(),
        work,
        ci,
        adverts,
        producers,
        lease,
        settings,
        tokens,
        deadLetterCount(s, q));
  }

  static CliException notFound(Connect.Session s, String q) {
    return CliException.notFound(
        "queue '"
            + q
            + "' not found: no stream "
            + Protocol.workStream(q)
            + " on "
            + s.url()
            + " (list queues with 'sluice status'; create it with 'sluice apply')");
  }

  /** The number of dead-letter records of {@code q}, or null when SLUICE_DLQ does not exist. */
  static Long deadLetterCount(Connect.Session s, String q) throws Exception {
    try {
      StreamInfo si =
          s.jsm.getStreamInfo(
              Protocol.DLQ_STREAM, StreamInfoOptions.filterSubjects(Protocol.dlqSubject(q)));
      long n = 0;
      if (si.getStreamState().getSubjects() != null) {
        for (Subject sub : si.getStreamState().getSubjects()) {
          if (sub.getName().equals(Protocol.dlqSubject(q))) {
            n += sub.getCount();
          }
        }
      }
      return n;
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  static List<Entry<byte[]>> entries(Connect.Session s, String bucket, String filter)
      throws Exception {
    List<Entry<byte[]>> out = new ArrayList<>();
    KeyValue kv = s.kv(bucket);
    List<String> keys;
    try {
      keys = kv.keys(filter);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
        return out;
      }
      throw e;
    } catch (IllegalStateException | IOException e) {
      if (String.valueOf(e.getMessage()).contains("not found")) {
        return out;
      }
      throw e;
    }
    for (String k : keys) {
      KeyValueEntry e = kv.get(k);
      if (e != null && e.getValue() != null) {
        out.add(new Entry<>(k, e.getValue()));
      }
    }
    return out;
  }

  static byte[] get(Connect.Session s, String bucket, String key) throws Exception {
    try {
      KeyValueEntry e = s.kv(bucket).get(key);
      return e == null ? null : e.getValue();
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  // ---- derived values ----

  long backlog() {
    return work.getStreamState().getMsgCount();
  }

  long hardLimit() {
    return work.getConfiguration().getMaxMsgs();
  }

  Long inFlight() {
    return consumer == null ? null : consumer.getNumAckPending();
  }

  Long redelivered() {
    return consumer == null ? null : consumer.getRedelivered();
  }

  boolean consumerPaused() {
    return consumer != null && consumer.getPaused();
  }

  /** Age of the oldest stored message, or null when the backlog is empty. */
  Long oldestAgeMs() {
    if (backlog() == 0) {
      return null;
    }
    ZonedDateTime t = work.getStreamState().getFirstTime();
    return t == null ? null : Math.max(0, now - t.toInstant().toEpochMilli());
  }

  /** Milliseconds since the worker consumer's ack floor last moved, or null if it never did. */
  Long lastAckAgoMs() {
    if (consumer == null || consumer.getAckFloor() == null) {
      return null;
    }
    ZonedDateTime t = consumer.getAckFloor().getLastActive();
    return t == null ? null : Math.max(0, now - t.toInstant().toEpochMilli());
  }

  int standingBuffer() {
    return settings == null ? 0 : settings.getStandingBuffer();
  }

  List<CapacityAdvert> liveAdverts() {
    return adverts.stream().filter(a -> Window.live(a, now)).toList();
  }

  List<ProducerReport> liveProducers() {
    return producers.stream().filter(r -> Window.live(r, now)).toList();
  }

  long window() {
    return Window.window(standingBuffer(), adverts, now);
  }

  long liveWorkers() {
    return liveAdverts().size();
  }

  long runningWorkers() {
    return liveAdverts().stream()
        .filter(a -> a.getState() == WorkerState.WORKER_STATE_RUNNING)
        .count();
  }

  long circuitOpen() {
    return liveAdverts().stream()
        .filter(a -> a.getState() == WorkerState.WORKER_STATE_CIRCUIT_OPEN)
        .count();
  }

  double serviceRate() {
    return liveAdverts().stream().mapToDouble(CapacityAdvert::getServiceRate).sum();
  }

  long owed() {
    return liveAdverts().stream().mapToLong(CapacityAdvert::getOwedCredits).sum();
  }

  long heldSpent() {
    return liveProducers().stream().mapToLong(ProducerReport::getHeldSpent).sum();
  }

  long heldUnspent() {
    return liveProducers().stream().mapToLong(ProducerReport::getHeldUnspent).sum();
  }

  /** Credits a producer could take now: stored tokens minus what producers hold. */
  long creditsAvailable() {
    return Math.max(0, tokens - heldSpent() - heldUnspent());
  }

  long waiting() {
    return liveProducers().stream().mapToLong(ProducerReport::getWaiting).sum();
  }

  /** §5.5: W − (B + T − S + O); positive is a deficit. */
  long deficit() {
    return window() - (backlog() + tokens - heldSpent() + owed());
  }

  /** True when messages were finished recently: the ack floor moved or workers report a rate. */
  boolean progressing(long stuckAfterMs) {
    Long ago = lastAckAgoMs();
    return (ago != null && ago <= stuckAfterMs) || serviceRate() >= 0.01;
  }

  /** One word: healthy, idle, stuck, degraded or no-workers (docs/CLI.md). */
  String health(long stuckAfterMs) {
    if (consumer == null || consumerPaused()) {
      return "stuck";
    }
    if (liveWorkers() == 0) {
      return "no-workers";
    }
    if (backlog() >= hardLimit() && hardLimit() > 0) {
      return "stuck";
    }
    boolean progress = progressing(stuckAfterMs);
    Long oldest = oldestAgeMs();
    if (backlog() > 0 && !progress && oldest != null && oldest > stuckAfterMs) {
      return "stuck";
    }
    if ((waiting() > 0 && creditsAvailable() == 0 && !progress)
        || redelivered() > 0
        || circuitOpen() > 0
        || (deadLetters != null && deadLetters > 0)
        || window() == 0) {
      return "degraded";
    }
    if (backlog() == 0 && waiting() == 0 && !progress) {
      return "idle";
    }
    return "healthy";
  }

  static boolean unhealthy(String health) {
    return !health.equals("healthy") && !health.equals("idle");
  }

  // ---- JSON shapes ----

  Map<String, Object> statusJson(long stuckAfterMs) {
    Map<String, Object> m = Json.obj();
    m.put("queue", queue);
    m.put("health", health(stuckAfterMs));
    m.put("backlog", backlog());
    m.put("in_flight", inFlight());
    m.put("redeliveries", redelivered());
    m.put("oldest_age_ms", oldestAgeMs());
    m.put("last_ack_ago_ms", lastAckAgoMs());
    m.put("window", window());
    m.put("standing_buffer", standingBuffer());
    m.put("tokens", tokens);
    m.put("credits_available", creditsAvailable());
    m.put("held", heldSpent() + heldUnspent());
    m.put("producers_waiting", waiting());
    m.put("live_producers", liveProducers().size());
    m.put("live_workers", liveWorkers());
    m.put("service_rate", round(serviceRate()));
    m.put("dead_letters", deadLetters);
    m.put("hard_limit", hardLimit());
    m.put("consumer", consumer == null ? "missing" : consumerPaused() ? "paused" : "ok");
    return m;
  }

  static Map<String, Object> advertJson(CapacityAdvert a, long now) {
    Map<String, Object> m = Json.obj();
    m.put("queue", a.getQueue());
    m.put("worker_id", a.getWorkerId());
    m.put("live", Window.live(a, now));
    m.put("state", stateName(a.getState()));
    m.put("capacity", a.getCapacity());
    m.put("in_flight", a.getInFlight());
    m.put("service_rate", round(a.getServiceRate()));
    List<Object> handled = new ArrayList<>();
    for (HandledType h : a.getHandledList()) {
      Map<String, Object> t = Json.obj();
      t.put("type", h.getType());
      t.put("min_version", h.getMinVersion());
      t.put("max_version", h.getMaxVersion());
      handled.add(t);
    }
    m.put("handled", handled);
    m.put("protocol_version", a.getProtocolVersion());
    m.put("language", a.getLanguage());
    m.put("owed_credits", a.getOwedCredits());
    m.put("completed_total", a.getCompletedTotal());
    m.put("minted_total", a.getMintedTotal());
    m.put("token_batch", a.getTokenBatch());
    m.put("heartbeat_unix_ms", a.getHeartbeatUnixMs());
    m.put("ttl_ms", a.getTtlMs());
    m.put("last_seen_ms_ago", Math.max(0, now - a.getHeartbeatUnixMs()));
    return m;
  }

  static Map<String, Object> producerJson(ProducerReport r, long now) {
    Map<String, Object> m = Json.obj();
    m.put("producer_id", r.getProducerId());
    m.put("live", Window.live(r, now));
    m.put("held_spent", r.getHeldSpent());
    m.put("held_unspent", r.getHeldUnspent());
    m.put("waiting", r.getWaiting());
    m.put("sent_total", r.getSentTotal());
    m.put("language", r.getLanguage());
    m.put("last_seen_ms_ago", Math.max(0, now - r.getHeartbeatUnixMs()));
    return m;
  }

  static Map<String, Object> ledgerJson(Ledger l) {
    Map<String, Object> m = Json.obj();
    m.put("window", l.getWindow());
    m.put("backlog", l.getBacklog());
    m.put("tokens", l.getTokens());
    m.put("held_spent", l.getHeldSpent());
    m.put("owed", l.getOwed());
    m.put("deficit", l.getDeficit());
    m.put("live_workers", l.getLiveWorkers());
    m.put("live_producers", l.getLiveProducers());
    m.put("minted", l.getMinted());
    m.put("burned", l.getBurned());
    m.put("audit_unix_ms", l.getAuditUnixMs());
    return m;
  }

  Map<String, Object> creditsJson() {
    Map<String, Object> m = Json.obj();
    m.put("queue", queue);
    m.put("window", window());
    m.put("standing_buffer", standingBuffer());
    m.put("token_batch", settings == null ? null : settings.getTokenBatch());
    m.put("backlog", backlog());
    m.put("tokens", tokens);
    m.put("held_spent", heldSpent());
    m.put("held_unspent", heldUnspent());
    m.put("credits_available", creditsAvailable());
    m.put("owed", owed());
    m.put("circulating", backlog() + tokens - heldSpent() + owed());
    m.put("deficit", deficit());
    List<Object> ps = new ArrayList<>();
    for (ProducerReport r : producers) {
      ps.add(producerJson(r, now));
    }
    m.put("producers", ps);
    if (lease == null) {
      m.put("reconciler", null);
    } else {
      Map<String, Object> l = Json.obj();
      l.put("holder", lease.getHolder());
      l.put("expires_unix_ms", lease.getExpiresUnixMs());
      l.put("expires_in_ms", lease.getExpiresUnixMs() - now);
      l.put("previous_deficit", lease.getPreviousDeficit());
      l.put("last_audit", lease.hasLast() ? ledgerJson(lease.getLast()) : null);
      m.put("reconciler", l);
    }
    return m;
  }

  static String stateName(WorkerState s) {
    return switch (s) {
      case WORKER_STATE_RUNNING -> "running";
      case WORKER_STATE_DRAINING -> "draining";
      case WORKER_STATE_CIRCUIT_OPEN -> "circuit-open";
      default -> s.name().toLowerCase(Locale.ROOT);
    };
  }

  static double round(double d) {
    return Math.round(d * 100) / 100.0;
  }
}
