package dev.sluice.conformance;

import static dev.sluice.conformance.Report.summarize;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The checks every scenario runs on each of its fleets once the workers have stopped: exactly one
 * outcome per acknowledged send, each worker's outcomes right, trace continuation, an empty work
 * stream, only JSON lines on stdout (docs/CONFORMANCE.md, "fleet checks").
 */
final class FleetChecks {
  private FleetChecks() {}

  /** The standard checks: outcomes, exactly once, nothing lost, trace continuation. */
  static void verify(Fleet f) throws Exception {
    Map<String, Peer.Event> sent = f.sent();
    Map<String, List<Peer.Event>> processed = new HashMap<>();
    Map<String, List<Peer.Event>> dead = new HashMap<>();
    for (Peer w : f.workers) {
      for (Peer.Event e : w.events("processed")) {
        processed.computeIfAbsent(e.str("msg_id"), k -> new ArrayList<>()).add(e);
      }
      for (Peer.Event e : w.events("dead_lettered")) {
        dead.computeIfAbsent(String.valueOf(e.str("msg_id")), k -> new ArrayList<>()).add(e);
      }
    }
    forgiveKilledWorkersLastRuns(f, processed, dead);
    noneLost(f, processed, dead);
    for (Peer w : f.workers) {
      workerSettledCorrectly(f, w, sent, processed, dead);
    }
    traceContinues(f, sent);
    long left = f.h.state.backlog(f.queue);
    f.h.check(
        f.scenario,
        "work stream SLUICE_Q_" + f.queue + " empty at the end",
        f.langs(),
        left == 0,
        left + " messages left");
    for (Peer p : f.producersAndWorkers()) {
      List<String> junk = p.nonJsonLines();
      if (!junk.isEmpty()) {
        f.h.check(
            f.scenario,
            p + " prints only JSON lines on stdout",
            List.of(p.lang),
            false,
            summarize(junk));
      }
    }
  }

  /** None lost, per producer: every acknowledged send reached exactly one outcome. */
  /**
   * A worker killed with SIGKILL may have run a handler, and printed {@code processed}, just before
   * its ack reached the server: the message is redelivered and settled again elsewhere. That is the
   * at-least-once a crash allows (PROTOCOL.md §7, §9: only a shared idempotency store closes it),
   * not a fault, so such a message's events from killed workers are dropped when another worker
   * settled it too. A message settled twice by live workers still fails the checks.
   */
  private static void forgiveKilledWorkersLastRuns(
      Fleet f, Map<String, List<Peer.Event>> processed, Map<String, List<Peer.Event>> dead) {
    if (f.killed.isEmpty()) {
      return;
    }
    Set<String> killedIds = new java.util.HashSet<>();
    for (Peer k : f.killed) {
      killedIds.add(k.id);
    }
    for (var e : processed.entrySet()) {
      List<Peer.Event> ev = e.getValue();
      int others = dead.getOrDefault(e.getKey(), List.of()).size();
      for (Peer.Event x : ev) {
        if (!killedIds.contains(x.str("id"))) {
          others++;
        }
      }
      if (others >= 1 && ev.size() + dead.getOrDefault(e.getKey(), List.of()).size() > 1) {
        ev.removeIf(x -> killedIds.contains(x.str("id")));
      }
    }
  }

  private static void noneLost(
      Fleet f, Map<String, List<Peer.Event>> processed, Map<String, List<Peer.Event>> dead) {
    for (Peer p : f.producers) {
      List<String> bad = new ArrayList<>();
      String beh = f.behavior.get(p);
      for (Peer.Event s : p.events("sent")) {
        String id = s.str("msg_id");
        int np = processed.getOrDefault(id, List.of()).size();
        int nd = dead.getOrDefault(id, List.of()).size();
        boolean dl = beh.equals("poison") || f.deadLettered.containsKey(p);
        boolean ok = dl ? (np == 0 && nd == 1) : (np == 1 && nd == 0);
        if (!ok) {
          bad.add(id + " processed " + np + "x, dead-lettered " + nd + "x");
        }
        if (!id.equals(p.id + "-" + s.num("seq"))) {
          bad.add(id + ": msg_id is not <producer-id>-<seq>");
        }
      }
      Set<String> l = new TreeSet<>(f.workerLangs());
      l.add(p.lang);
      f.h.check(
          f.scenario,
          "every message from "
              + p.lang
              + " producer "
              + p.id
              + " ("
              + beh
              + (f.deadLettered.containsKey(p) ? ", dead-lettered by the handler" : "")
              + ") settled exactly once, none lost",
          l,
          bad.isEmpty() && !p.events("sent").isEmpty(),
          summarize(bad));
    }
  }

  /** Per worker: what it did was right, and nothing it did was done again elsewhere. */
  private static void workerSettledCorrectly(
      Fleet f,
      Peer w,
      Map<String, Peer.Event> sent,
      Map<String, List<Peer.Event>> processed,
      Map<String, List<Peer.Event>> dead) {
    List<String> bad = new ArrayList<>();
    for (Peer.Event e : w.events("processed")) {
      String id = e.str("msg_id");
      Peer.Event s = sent.get(id);
      if (s == null) {
        bad.add(id + ": processed but never sent");
        continue;
      }
      Peer p = f.producerOf(id);
      String beh = f.behavior.get(p);
      if (beh.equals("poison")) {
        bad.add(id + ": poison message processed");
      }
      if (f.deadLettered.containsKey(p)) {
        bad.add(id + ": processed, expected dead-lettered " + f.deadLettered.get(p));
      }
      if (beh.equals("fail-once") && e.num("attempt") < 2) {
        bad.add(id + ": fail-once processed at attempt " + e.num("attempt"));
      }
      if (processed.get(id).size() + dead.getOrDefault(id, List.of()).size() > 1) {
        bad.add(id + ": settled more than once");
      }
      if (!w.lang.equals(e.str("lang")) || !w.id.equals(e.str("id"))) {
        bad.add(id + ": event says lang " + e.str("lang") + " id " + e.str("id"));
      }
      if (e.num("version") != f.versions.get(p) || !Harness.TYPE.equals(e.str("type"))) {
        bad.add(id + ": type/version " + e.str("type") + "@" + e.num("version"));
      }
      if (e.num("seq") != s.num("seq")) {
        bad.add(id + ": seq " + e.num("seq") + " != sent " + s.num("seq"));
      }
    }
    for (Peer.Event e : w.events("dead_lettered")) {
      String id = e.str("msg_id");
      String want = f.raw.get(id);
      if (want == null && sent.containsKey(id)) {
        Peer p = f.producerOf(id);
        want =
            f.deadLettered.containsKey(p)
                ? f.deadLettered.get(p)
                : f.behavior.get(p).equals("poison") ? "rejected" : "(not dead-lettered)";
      }
      if (want == null || !want.equals(e.str("reason"))) {
        bad.add(id + ": dead-lettered " + e.str("reason") + ", expected " + want);
      }
    }
    f.h.check(
        f.scenario,
        w.lang + " worker " + w.id + " settled each message it took correctly and once",
        List.of(w.lang),
        bad.isEmpty(),
        summarize(bad));
  }

  /** Trace continuation (§10), per producer language → worker language. */
  private static void traceContinues(Fleet f, Map<String, Peer.Event> sent) {
    Map<String, List<String>> traceBad = new LinkedHashMap<>();
    Map<String, Integer> traceN = new LinkedHashMap<>();
    for (Peer w : f.workers) {
      for (Peer.Event e : w.events("processed")) {
        Peer.Event s = sent.get(e.str("msg_id"));
        if (s == null) {
          continue;
        }
        String pair = f.producerOf(e.str("msg_id")).lang + "->" + w.lang;
        traceN.merge(pair, 1, Integer::sum);
        List<String> bad = traceBad.computeIfAbsent(pair, k -> new ArrayList<>());
        String st = s.str("trace_id");
        if (st == null || !st.matches("[0-9a-f]{32}") || !st.equals(e.str("trace_id"))) {
          bad.add(e.str("msg_id") + ": sent " + st + ", processed " + e.str("trace_id"));
        }
      }
    }
    for (var en : traceBad.entrySet()) {
      String[] pl = en.getKey().split("->");
      f.h.check(
          f.scenario,
          "trace ids continue " + en.getKey() + " (" + traceN.get(en.getKey()) + " messages)",
          List.of(pl[0], pl[1]),
          en.getValue().isEmpty(),
          summarize(en.getValue()));
    }
  }

  /** Each worker language took part (processed at least one message). */
  static void eachWorkerProcessed(Fleet f) {
    for (Peer w : f.workers) {
      int n = w.events("processed").size();
      f.h.check(
          f.scenario,
          w.lang + " worker " + w.id + " processed messages (" + n + ")",
          List.of(w.lang),
          n > 0,
          "");
    }
  }
}
