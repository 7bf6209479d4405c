package dev.sluice.conformance;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * One queue, its peers and what each message should become: starts workers and producers, waits for
 * them, and stops the workers with the checks every scenario shares (each worker starts and shuts
 * down cleanly, each producer sends everything). The outcome checks are {@link FleetChecks}. Not
 * thread-safe: one scenario thread drives a fleet.
 */
final class Fleet {
  final Harness h;
  final String scenario;
  final String queue;
  final List<Peer> workers = new ArrayList<>();
  final List<Peer> producers = new ArrayList<>();
  final Map<Peer, String> behavior = new HashMap<>();
  final Map<Peer, Integer> counts = new HashMap<>();
  final Map<Peer, Integer> versions = new HashMap<>();
  final Map<String, String> workerHandles = new HashMap<>();

  /**
   * Producers each of whose messages is expected dead-lettered, with this reason, whatever its
   * behavior (e.g. messages a failing handler meets: {@code max-attempts}).
   */
  final Map<Peer, String> deadLettered = new HashMap<>();

  /** Messages the runner published itself: msg id → expected dead-letter reason. */
  final Map<String, String> raw = new LinkedHashMap<>();

  /**
   * Workers the scenario killed with SIGKILL: their events still count as outcomes, but they are
   * not asked to shut down cleanly.
   */
  final Set<Peer> killed = new HashSet<>();

  Fleet(Harness h, String scenario, String queue) {
    this.h = h;
    this.scenario = scenario;
    this.queue = queue;
  }

  /** A worker spec: language, worker id, then extra contract flags. */
  static List<String> spec(String... a) {
    return List.of(a);
  }

  /** {@code spec} with more flags appended. */
  static List<String> spec(List<String> spec, String... more) {
    return Stream.concat(spec.stream(), Arrays.stream(more)).toList();
  }

  /** Starts workers (all at once) and waits until each printed ready. */
  List<Peer> workers(List<List<String>> specs) throws Exception {
    List<Peer> started = new ArrayList<>();
    for (List<String> spec : specs) {
      String lang = spec.get(0);
      String id = spec.get(1);
      List<String> args =
          new ArrayList<>(
              List.of(
                  "worker",
                  "--server",
                  h.url,
                  "--queue",
                  queue,
                  "--worker-id",
                  id,
                  "--token-batch",
                  String.valueOf(Harness.BATCH)));
      args.addAll(spec.subList(2, spec.size()));
      Peer p = h.launcher.start(lang, "worker", id, args);
      workers.add(p);
      started.add(p);
      int i = spec.indexOf("--handles");
      workerHandles.put(id, i >= 0 ? spec.get(i + 1) : Harness.TYPE + "@1-1");
    }
    for (Peer p : started) {
      boolean ready = p.awaitReady(40_000);
      h.check(
          scenario,
          p.lang + " worker " + p.id + " starts",
          List.of(p.lang),
          ready,
          ready ? "" : "no ready event; stderr: " + p.stderrTail(5));
      if (!ready) {
        throw new IllegalStateException(p + " did not start");
      }
    }
    return started;
  }

  /** Starts a producer of {@code count} messages with seq from {@code start}. */
  Peer producer(String lang, String id, int count, String behav, int start, int version)
      throws IOException {
    return producer(lang, id, count, behav, start, version, List.of());
  }

  /** A producer with {@code extra} contract flags after the usual ones (e.g. --fairness-key). */
  Peer producer(
      String lang, String id, int count, String behav, int start, int version, List<String> extra)
      throws IOException {
    List<String> args = new java.util.ArrayList<>();
    args.addAll(
        List.of(
            "produce",
            "--server",
            h.url,
            "--queue",
            queue,
            "--producer-id",
            id,
            "--count",
            String.valueOf(count),
            "--behavior",
            behav,
            "--start",
            String.valueOf(start),
            "--version",
            String.valueOf(version),
            "--acquire-timeout-ms",
            "60000"));
    args.addAll(extra);
    Peer p = h.launcher.start(lang, "producer", id, args);
    producers.add(p);
    behavior.put(p, behav);
    counts.put(p, count);
    versions.put(p, version);
    return p;
  }

  /** Waits for producers to exit and checks each sent everything it was asked to. */
  void awaitProducers(Collection<Peer> ps, long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    for (Peer p : ps) {
      Integer code = p.awaitExit(Math.max(1, deadline - System.currentTimeMillis()));
      if (code == null) {
        p.kill();
      }
      int sent = p.events("sent").size();
      String report = h.state.kvState("sluice-control", "producer." + queue + "." + p.id);
      boolean ok = code != null && code == 0 && sent == counts.get(p) && report == null;
      h.check(
          scenario,
          p.lang
              + " producer "
              + p.id
              + " sends all "
              + counts.get(p)
              + ", exits 0, report deleted",
          List.of(p.lang),
          ok,
          ok
              ? ""
              : "exit "
                  + code
                  + ", sent "
                  + sent
                  + (report == null ? "" : ", report " + report)
                  + "; stderr: "
                  + p.stderrTail(3));
    }
  }

  /** Every producer's sent events by msg id. */
  Map<String, Peer.Event> sent() {
    Map<String, Peer.Event> m = new LinkedHashMap<>();
    for (Peer p : producers) {
      for (Peer.Event e : p.events("sent")) {
        m.put(e.str("msg_id"), e);
      }
    }
    return m;
  }

  /** The producer that sent {@code msgId}, or null. */
  Peer producerOf(String msgId) {
    for (Peer p : producers) {
      for (Peer.Event e : p.events("sent")) {
        if (msgId.equals(e.str("msg_id"))) {
          return p;
        }
      }
    }
    return null;
  }

  /** Sent and raw messages that no worker has reported an outcome for yet. */
  Set<String> withoutOutcome() {
    Set<String> want = new LinkedHashSet<>(sent().keySet());
    want.addAll(raw.keySet());
    for (Peer w : workers) {
      for (Peer.Event e : w.events("processed")) {
        want.remove(e.str("msg_id"));
      }
      for (Peer.Event e : w.events("dead_lettered")) {
        want.remove(e.str("msg_id"));
      }
    }
    return want;
  }

  /** Waits until every sent or raw message has an outcome at some worker; a check if not. */
  boolean awaitOutcomes(long timeoutMs) {
    if (Waits.until(
        () -> withoutOutcome().isEmpty(),
        Duration.ofMillis(timeoutMs),
        "an outcome for every message on " + queue)) {
      return true;
    }
    Set<String> want = withoutOutcome();
    h.check(
        scenario,
        "every message reaches an outcome in time",
        langs(),
        false,
        want.size() + " without outcome, e.g. " + want.stream().limit(5).toList());
    return false;
  }

  /**
   * Waits until the work stream is empty: every outcome event has been seen, but the last acks and
   * terms (a Java worker prints {@code processed} before its ack) may still be on their way.
   * Returns false after 10 s; the fleet check "work stream empty" then reports what is left.
   */
  boolean awaitDrained() {
    return Waits.until(
        () -> h.state.backlog(queue) == 0,
        Duration.ofSeconds(10),
        "work stream SLUICE_Q_" + queue + " to drain");
  }

  /** Worker {@code w}'s advert on this queue; empty when it has none or the read fails. */
  Optional<ControlPlane.Advert> advert(Peer w) {
    try {
      return ControlPlane.advert(h.sluice(), queue, w.id);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Languages of every worker and producer. */
  Set<String> langs() {
    Set<String> s = new TreeSet<>(workerLangs());
    producers.forEach(p -> s.add(p.lang));
    return s;
  }

  Set<String> workerLangs() {
    Set<String> s = new TreeSet<>();
    workers.forEach(w -> s.add(w.lang));
    return s;
  }

  /** SIGTERM to every worker not killed: each must exit 0 after a clean shutdown. */
  void stopWorkers() throws InterruptedException {
    List<Peer> running = new ArrayList<>(workers);
    running.removeAll(killed);
    for (Peer w : running) {
      w.terminate();
    }
    for (Peer w : running) {
      Integer code = w.awaitExit(Launcher.STOP_TIMEOUT_MS);
      if (code == null) {
        w.kill();
      }
      boolean done = !w.events("done").isEmpty();
      String advert = h.state.kvState("sluice-capacity", queue + "." + w.id);
      h.check(
          scenario,
          w.lang
              + " worker "
              + w.id
              + " shuts down cleanly on SIGTERM (exit 0, done, advert deleted)",
          List.of(w.lang),
          code != null && code == 0 && done && advert == null,
          "exit "
              + code
              + (done ? "" : ", no done event")
              + (advert == null ? "" : ", advert " + advert));
    }
  }

  List<Peer> producersAndWorkers() {
    List<Peer> l = new ArrayList<>(producers);
    l.addAll(workers);
    return l;
  }
}
