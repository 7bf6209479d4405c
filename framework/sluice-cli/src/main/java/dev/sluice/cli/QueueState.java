package dev.sluice.cli;

import dev.sluice.ConsumerStatus;
import dev.sluice.ProducerReport;
import dev.sluice.QueueInspection;
import dev.sluice.QueueNotFoundException;
import dev.sluice.ReconcilerLease;
import dev.sluice.WorkerAdvert;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One {@link QueueInspection} of a queue and what the CLI concludes from it: its health word and
 * the {@code --json} shapes of status, workers and credits.
 */
final class QueueState {
  final String queue;
  final long now;
  final QueueInspection in;

  private QueueState(QueueInspection in) {
    this.queue = in.queue();
    this.now = in.inspectedAt().toEpochMilli();
    this.in = in;
  }

  /** Reads queue {@code q}; throws a not-found {@link CliException} when it has no work stream. */
  static QueueState read(Connect.Session s, String q) {
    try {
      return new QueueState(s.sluice().inspect(q));
    } catch (QueueNotFoundException e) {
      throw notFound(s, q);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
  }

  static CliException notFound(Connect.Session s, String q) {
    return CliException.notFound(
        "queue '"
            + q
            + "' not found: no stream SLUICE_Q_"
            + q
            + " on "
            + s.url()
            + " (list queues with 'sluice status'; create it with 'sluice apply')");
  }

  // ---- derived values ----

  long backlog() {
    return in.backlog();
  }

  long hardLimit() {
    return in.hardLimit();
  }

  Long inFlight() {
    return in.workerConsumer().map(ConsumerStatus::inFlight).orElse(null);
  }

  Long redelivered() {
    return in.workerConsumer().map(ConsumerStatus::redelivered).orElse(null);
  }

  boolean consumerMissing() {
    return in.workerConsumer().isEmpty();
  }

  boolean consumerPaused() {
    return in.workerConsumer().map(ConsumerStatus::paused).orElse(false);
  }

  /** Age of the oldest stored message, or null when the backlog is empty. */
  Long oldestAgeMs() {
    return in.oldestAge().map(Duration::toMillis).orElse(null);
  }

  /** Milliseconds since the worker consumer's ack floor last moved, or null if it never did. */
  Long lastAckAgoMs() {
    return in.lastAckAge().map(Duration::toMillis).orElse(null);
  }

  int standingBuffer() {
    return in.standingBuffer();
  }

  long window() {
    return in.window();
  }

  long liveWorkers() {
    return in.liveWorkers().size();
  }

  /** Live workers whose advert says they are failing (PROTOCOL.md §5.2 {@code problem}). */
  List<WorkerAdvert> failingWorkers() {
    return in.liveWorkers().stream().filter(WorkerAdvert::failing).toList();
  }

  /** Live running workers whose capacity is lowered by pushback (PROTOCOL.md §15.1). */
  List<WorkerAdvert> loweredWorkers() {
    return in.liveWorkers().stream().filter(WorkerAdvert::loweredByPushback).toList();
  }

  /**
   * "capacity lowered by pushback to 3 of 16": the live running workers' advertised capacity and
   * what they would advertise without pushback, or null when none is lowered.
   */
  String pushbackText() {
    Map<String, Object> p = pushbackJson();
    return p == null ? null : (String) p.get("text");
  }

  /** The {@code pushback} object of status: summed over live running workers; null if none. */
  Map<String, Object> pushbackJson() {
    List<WorkerAdvert> lowered = loweredWorkers();
    if (lowered.isEmpty()) {
      return null;
    }
    long capacity = 0;
    long nominal = 0;
    long running = 0;
    for (WorkerAdvert a : in.liveWorkers()) {
      if (a.state() == WorkerAdvert.State.RUNNING) {
        running++;
        capacity += a.capacity();
        nominal += Math.max(a.capacity(), a.pushback().nominalCapacity());
      }
    }
    Map<String, Object> m = Json.obj();
    m.put("lowered_workers", lowered.size());
    m.put("capacity", capacity);
    m.put("nominal_capacity", nominal);
    m.put(
        "text",
        "capacity lowered by pushback to "
            + capacity
            + " of "
            + nominal
            + " ("
            + lowered.size()
            + " of "
            + running
            + " workers)");
    return m;
  }

  long circuitOpen() {
    return in.liveWorkersIn(WorkerAdvert.State.CIRCUIT_OPEN);
  }

  long creditsAvailable() {
    return in.creditsAvailable();
  }

  long waiting() {
    return in.waiting();
  }

  Long deadLetters() {
    return in.deadLetters().isPresent() ? in.deadLetters().getAsLong() : null;
  }

  /** Milliseconds since the worker consumer last delivered a message, or null if it never did. */
  Long lastDeliveryAgoMs() {
    return in.lastDeliveryAge().map(Duration::toMillis).orElse(null);
  }

  /**
   * True when work moved recently: the ack floor moved, or the consumer delivered a message (a
   * worker that just started and took an old backlog has acked nothing yet, but is not stuck), or
   * workers report a rate. A hung handler stops all three, so it still reads as stuck after {@code
   * --stuck-after}.
   */
  boolean progressing(long stuckAfterMs) {
    Long delivered = lastDeliveryAgoMs();
    return finishing(stuckAfterMs) || (delivered != null && delivered <= stuckAfterMs);
  }

  /** True when messages were finished recently: the ack floor moved or workers report a rate. */
  boolean finishing(long stuckAfterMs) {
    Long acked = lastAckAgoMs();
    return (acked != null && acked <= stuckAfterMs) || in.serviceRate() >= 0.01;
  }

  /** One word: healthy, idle, stuck, degraded or no-workers (docs/CLI.md). */
  String health(long stuckAfterMs) {
    if (consumerMissing() || consumerPaused()) {
      return "stuck";
    }
    if (liveWorkers() == 0) {
      return "no-workers";
    }
    if (in.atHardLimit()) {
      return "stuck";
    }
    boolean progress = progressing(stuckAfterMs);
    Long oldest = oldestAgeMs();
    if (backlog() > 0 && !progress && oldest != null && oldest > stuckAfterMs) {
      return "stuck";
    }
    Long dead = deadLetters();
    if ((waiting() > 0 && creditsAvailable() == 0 && !progress)
        || redelivered() > 0
        || circuitOpen() > 0
        || !failingWorkers().isEmpty()
        || dead == null
        || dead > 0
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
    m.put("last_delivery_ago_ms", lastDeliveryAgoMs());
    m.put("window", window());
    m.put("standing_buffer", standingBuffer());
    m.put("tokens", in.tokens());
    m.put("credits_available", creditsAvailable());
    m.put("held", in.heldSpent() + in.heldUnspent());
    m.put("producers_waiting", waiting());
    m.put("live_producers", in.liveProducers().size());
    m.put("live_workers", liveWorkers());
    m.put("failing_workers", failingWorkers().size());
    m.put("pushback", pushbackJson());
    m.put("service_rate", round(in.serviceRate()));
    m.put("dead_letters", deadLetters());
    m.put("hard_limit", hardLimit());
    m.put("consumer", consumerMissing() ? "missing" : consumerPaused() ? "paused" : "ok");
    FairnessView fair = fairness();
    if (fair.inUse()) {
      m.put("fairness", fair.json()); // §15.3: only when live producers send with keys
    }
    m.put("rate_limit", RateLimits.json(this)); // §15.2
    return m;
  }

  static Map<String, Object> advertJson(WorkerAdvert a, long now) {
    Map<String, Object> m = Json.obj();
    m.put("queue", a.queue());
    m.put("worker_id", a.workerId());
    m.put("live", a.live());
    m.put("state", stateName(a.state()));
    m.put("capacity", a.capacity());
    m.put("nominal_capacity", a.pushback().nominalCapacity());
    m.put("lowered_by_pushback", a.loweredByPushback());
    m.put("pushbacks_total", a.pushback().pushbacksTotal());
    m.put("pushback_decreases_total", a.pushback().decreasesTotal());
    m.put(
        "lowered_since_unix_ms",
        a.pushback().loweredSince() == null ? null : a.pushback().loweredSince().toEpochMilli());
    m.put("in_flight", a.inFlight());
    m.put("service_rate", round(a.serviceRate()));
    List<Object> handled = new ArrayList<>();
    for (WorkerAdvert.HandledType h : a.handled()) {
      Map<String, Object> t = Json.obj();
      t.put("type", h.type());
      t.put("min_version", h.minVersion());
      t.put("max_version", h.maxVersion());
      handled.add(t);
    }
    m.put("handled", handled);
    m.put("protocol_version", a.protocolVersion());
    m.put("language", a.language());
    m.put("owed_credits", a.owedCredits());
    m.put("completed_total", a.completedTotal());
    m.put("minted_total", a.mintedTotal());
    m.put("token_batch", a.tokenBatch());
    m.put("debt", a.debt());
    m.put("problem", a.problem());
    m.put("heartbeat_unix_ms", a.heartbeatAt().toEpochMilli());
    m.put("ttl_ms", a.ttl().toMillis());
    m.put("last_seen_ms_ago", Math.max(0, now - a.heartbeatAt().toEpochMilli()));
    return m;
  }

  static Map<String, Object> producerJson(ProducerReport r, long now) {
    Map<String, Object> m = Json.obj();
    m.put("producer_id", r.producerId());
    m.put("live", r.live());
    m.put("held_spent", r.heldSpent());
    m.put("held_unspent", r.heldUnspent());
    m.put("waiting", r.waiting());
    m.put("sent_total", r.sentTotal());
    m.put("language", r.language());
    m.put("last_seen_ms_ago", Math.max(0, now - r.heartbeatAt().toEpochMilli()));
    if (!r.fairnessKeys().isEmpty()) {
      m.put("fairness_keys", FairnessView.producerKeys(r));
    }
    return m;
  }

  /** The fairness keys of the live producers (§15.3). */
  FairnessView fairness() {
    return FairnessView.of(in.producers());
  }

  static Map<String, Object> ledgerJson(ReconcilerLease.Audit l) {
    Map<String, Object> m = Json.obj();
    m.put("window", l.window());
    m.put("backlog", l.backlog());
    m.put("tokens", l.tokens());
    m.put("held_spent", l.heldSpent());
    m.put("owed", l.owed());
    m.put("deficit", l.deficit());
    m.put("live_workers", l.liveWorkers());
    m.put("live_producers", l.liveProducers());
    m.put("minted", l.minted());
    m.put("burned", l.burned());
    m.put("audit_unix_ms", l.at().toEpochMilli());
    return m;
  }

  Map<String, Object> creditsJson() {
    Map<String, Object> m = Json.obj();
    m.put("queue", queue);
    m.put("window", window());
    m.put("standing_buffer", standingBuffer());
    m.put("token_batch", in.tokenBatch().isPresent() ? in.tokenBatch().getAsInt() : null);
    m.put("backlog", backlog());
    m.put("tokens", in.tokens());
    m.put("held_spent", in.heldSpent());
    m.put("held_unspent", in.heldUnspent());
    m.put("credits_available", creditsAvailable());
    m.put("owed", in.owed());
    m.put("debt", in.debt());
    m.put("circulating", in.circulating());
    m.put("pushback", pushbackJson());
    m.put("deficit", in.deficit());
    m.put("rate_limit", RateLimits.json(this)); // §15.2
    List<Object> ps = new ArrayList<>();
    for (ProducerReport r : in.producers()) {
      ps.add(producerJson(r, now));
    }
    m.put("producers", ps);
    FairnessView fair = fairness();
    if (fair.inUse()) {
      m.put("fairness", fair.json());
    }
    if (in.reconciler().isEmpty()) {
      m.put("reconciler", null);
    } else {
      ReconcilerLease lease = in.reconciler().get();
      Map<String, Object> l = Json.obj();
      l.put("holder", lease.holder());
      l.put("expires_unix_ms", lease.expiresAt().toEpochMilli());
      l.put("expires_in_ms", lease.expiresAt().toEpochMilli() - now);
      l.put("previous_deficit", lease.previousDeficit());
      l.put("last_audit", lease.lastAudit().map(QueueState::ledgerJson).orElse(null));
      m.put("reconciler", l);
    }
    return m;
  }

  static String stateName(WorkerAdvert.State s) {
    return switch (s) {
      case RUNNING -> "running";
      case DRAINING -> "draining";
      case CIRCUIT_OPEN -> "circuit-open";
      case UNKNOWN -> "worker_state_unspecified";
    };
  }

  static double round(double d) {
    return Math.round(d * 100) / 100.0;
  }
}
