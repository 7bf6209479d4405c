package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;
import static dev.sluice.conformance.Report.summarize;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Workers that handle only v1 leave v2 messages to workers that handle v1-2, which must process
 * every one of them; nothing is dead-lettered. Queues A and B at once, so each language is both a
 * decliner and a handler; then queue C, where every decline is after a 1 ms grace period (§4.2).
 */
final class PayloadVersions implements Scenario {
  private static final String V1 = Harness.TYPE + "@1-1";
  private static final String V12 = Harness.TYPE + "@1-2";

  @Override
  public String name() {
    return "payload-versions";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    // A long grace with short NAK delays, so a v2 message bounces between decliners until a v1-2
    // worker takes it, rather than reaching unsupported-version by chance.
    String[] grace = {"--grace-ms", "30000", "--grace-delay-ms", "200", "--work-ms", "10"};
    Fleet a = h.fleet(sc, "cf-versions-a", 0);
    Fleet b = h.fleet(sc, "cf-versions-b", 0);
    a.workers(
        List.of(
            spec(spec("go", "go-v1", "--handles", V1), grace),
            spec(spec("java", "java-v1", "--handles", V1), grace),
            spec(spec("rust", "rust-v12", "--handles", V12), grace)));
    b.workers(
        List.of(
            spec(spec("rust", "rust-v1", "--handles", V1), grace),
            spec(spec("java", "java-v12", "--handles", V12), grace),
            spec(spec("go", "go-v12", "--handles", V12), grace)));
    List<Peer> pa =
        List.of(
            a.producer("rust", "rust-v2", 20, "ok", 0, 2),
            a.producer("go", "go-v1", 10, "ok", 0, 1));
    List<Peer> pb =
        List.of(
            b.producer("java", "java-v2", 20, "ok", 0, 2),
            b.producer("rust", "rust-v1", 10, "ok", 0, 1));
    a.awaitProducers(pa, 90_000);
    b.awaitProducers(pb, 90_000);
    a.awaitOutcomes(40_000);
    b.awaitOutcomes(40_000);
    a.awaitDrained();
    b.awaitDrained();
    a.stopWorkers();
    b.stopWorkers();
    for (Fleet f : List.of(a, b)) {
      checkWithinGrace(h, f);
    }
    // Queue C: a grace period of 1 ms, so every decline happens after it. Three decliners (one
    // per language) and one v1-2 worker: §4.2 says a decliner keeps NAKing while another live
    // advert handles the version, and §7.2 step 3 lets deliveries past max_deliveries (10)
    // through in such a mixed fleet, so nothing may be dead-lettered.
    String[] noGrace = {"--grace-ms", "1", "--grace-delay-ms", "100", "--work-ms", "10"};
    Fleet c = h.fleet(sc, "cf-versions-c", 0);
    c.workers(
        List.of(
            spec(spec("go", "go-v1c", "--handles", V1), noGrace),
            spec(spec("rust", "rust-v1c", "--handles", V1), noGrace),
            spec(spec("java", "java-v1c", "--handles", V1), noGrace),
            spec(spec("java", "java-v12c", "--handles", V12), noGrace)));
    List<Peer> pc = List.of(c.producer("go", "go-v2c", 12, "ok", 0, 2));
    c.awaitProducers(pc, 90_000);
    c.awaitOutcomes(40_000);
    c.awaitDrained();
    c.stopWorkers();
    checkDeclinedAfterGrace(h, c);
    for (Fleet f : List.of(a, b, c)) {
      FleetChecks.verify(f);
      checkOnlyV12Workers(h, f);
    }
  }

  /**
   * Every worker keeps 5 s pull requests and the server hands each redelivery to the oldest waiting
   * one, so the v1-2 worker's requests reach the head after a few declines: each v2 message must be
   * processed well within the 30 s grace period.
   */
  private static void checkWithinGrace(Harness h, Fleet f) {
    Map<String, Long> sentAt = new HashMap<>();
    for (Peer p : f.producers) {
      for (Peer.Event e : p.events("sent")) {
        sentAt.put(e.str("msg_id"), e.nanos());
      }
    }
    List<String> late = new ArrayList<>();
    long worst = 0;
    for (Peer wk : f.workers) {
      for (Peer.Event e : wk.events("processed")) {
        Long at = sentAt.get(e.str("msg_id"));
        if (e.num("version") != 2 || at == null) {
          continue;
        }
        long ms = (e.nanos() - at) / 1_000_000;
        worst = Math.max(worst, ms);
        if (ms >= 30_000) {
          late.add(e.str("msg_id") + " after " + ms + " ms (attempt " + e.num("attempt") + ")");
        }
      }
    }
    h.check(
        f.scenario,
        f.queue + ": every v2 message processed within the grace period (slowest " + worst + " ms)",
        f.workerLangs(),
        late.isEmpty(),
        summarize(late));
  }

  /** The Go and Rust decliners NAKed after the grace period: the §4.2 rule was exercised. */
  private static void checkDeclinedAfterGrace(Harness h, Fleet c) {
    Map<String, Integer> after = new TreeMap<>();
    int maxAttempt = 0;
    for (Peer wk : c.workers) {
      for (Peer.Event e : wk.events("nak")) {
        if ("not-handled".equals(e.str("reason"))) {
          after.merge(wk.lang, 1, Integer::sum);
        }
      }
      for (Peer.Event e : wk.events("processed")) {
        maxAttempt = Math.max(maxAttempt, (int) e.num("attempt"));
      }
    }
    int declined = after.values().stream().mapToInt(Integer::intValue).sum();
    h.check(
        c.scenario,
        c.queue + ": decliners NAKed after the grace period (the §4.2 rule was exercised)",
        List.of("go", "rust"),
        declined > 0,
        "not-handled naks after grace " + after + "; latest processing attempt " + maxAttempt);
  }

  /** v2 messages processed only by v1-2 workers, every one of them, none dead-lettered. */
  private static void checkOnlyV12Workers(Harness h, Fleet f) throws Exception {
    Set<String> all = new TreeSet<>();
    List<String> bad = new ArrayList<>();
    Map<String, Integer> v2By = new TreeMap<>();
    for (Peer wk : f.workers) {
      boolean handlesV2 = f.workerHandles.get(wk.id).endsWith("@1-2");
      all.add(wk.lang);
      for (Peer.Event e : wk.events("processed")) {
        if (e.num("version") == 2) {
          v2By.merge(wk.lang, 1, Integer::sum);
          if (!handlesV2) {
            bad.add(wk.lang + " v1-only worker processed v2 " + e.str("msg_id"));
          }
        }
      }
      for (Peer.Event e : wk.events("dead_lettered")) {
        bad.add(wk.lang + " dead-lettered " + e.str("msg_id") + " " + e.str("reason"));
      }
    }
    int dlq = h.state.deadLetters(f.queue).size();
    if (dlq > 0) {
      bad.add(dlq + " records in SLUICE_DLQ for " + f.queue);
    }
    int v2sent = 0;
    for (Peer p : f.producers) {
      if (f.versions.get(p) == 2) {
        v2sent += p.events("sent").size();
      }
    }
    int v2done = v2By.values().stream().mapToInt(Integer::intValue).sum();
    if (v2done != v2sent) {
      bad.add("v2 sent " + v2sent + ", processed " + v2done);
    }
    for (Peer wk : f.workers) {
      if (!f.workerHandles.get(wk.id).endsWith("@1-2")) {
        long nh =
            wk.events("nak").stream().filter(e -> "not-handled".equals(e.str("reason"))).count();
        v2By.merge(wk.lang + " declined (nak events)", (int) nh, Integer::sum);
      }
    }
    h.check(
        f.scenario,
        f.queue + ": v2 messages processed only by v1-2 workers, none dead-lettered",
        all,
        bad.isEmpty(),
        summarize(bad) + " " + v2By);
  }
}
