package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;
import static dev.sluice.conformance.Report.LANGS;
import static dev.sluice.conformance.Report.summarize;

import io.nats.client.api.MessageInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Each language's worker alone on its own queue (standing buffer = its capacity, since Go and Rust
 * run no reconciler), fed by a producer of another language plus malformed messages the runner
 * publishes itself; then the dead-letter records are read from SLUICE_DLQ directly.
 */
final class PoisonAndDeadLetters implements Scenario {
  /** The standing buffer of each queue: the solo worker's concurrency + prefetch (4 + 4). */
  private static final int BUFFER = 8;

  /** Which language's producer feeds which language's worker. */
  private static final Map<String, String> PRODUCER_FOR =
      Map.of("go", "rust", "rust", "java", "java", "go");

  @Override
  public String name() {
    return "poison-and-dead-letters";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    long startMs = System.currentTimeMillis();
    Map<String, Fleet> fleets = new LinkedHashMap<>();
    for (String lang : LANGS) {
      fleets.put(lang, h.fleet(sc, "cf-poison-" + lang, BUFFER));
    }
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Void>> futures = new ArrayList<>();
      for (String lang : LANGS) {
        Fleet f = fleets.get(lang);
        String pl = PRODUCER_FOR.get(lang);
        futures.add(
            pool.submit(
                (Callable<Void>)
                    () -> {
                      f.workers(List.of(spec(lang, lang + "-solo")));
                      for (String[] b :
                          new String[][] {{"ok", "4"}, {"poison", "3"}, {"fail-once", "2"}}) {
                        Peer p =
                            f.producer(pl, pl + "-" + b[0], Integer.parseInt(b[1]), b[0], 0, 1);
                        f.awaitProducers(List.of(p), 60_000);
                      }
                      RawMessages.publish(h, f);
                      f.awaitOutcomes(30_000);
                      return null;
                    }));
      }
      for (Future<Void> fu : futures) {
        fu.get();
      }
    } finally {
      pool.shutdownNow();
    }
    for (Fleet f : fleets.values()) {
      f.awaitDrained();
    }
    for (Fleet f : fleets.values()) {
      f.stopWorkers();
    }
    for (var en : fleets.entrySet()) {
      checkConservation(h, sc, en.getKey(), en.getValue());
    }
    for (Fleet f : fleets.values()) {
      FleetChecks.verify(f);
    }
    Map<String, Map<String, Set<String>>> namesByReason = new TreeMap<>();
    for (String lang : LANGS) {
      Fleet f = fleets.get(lang);
      checkRecords(h, sc, lang, f, startMs, namesByReason);
      checkRetries(h, sc, lang, f);
    }
    checkSameNames(h, sc, namesByReason);
  }

  /**
   * Credit conservation (§5.4, §6.7): with producers closed and workers shut down, the queue holds
   * its standing buffer plus one credit per raw message (they were published without a credit, and
   * each finished one was replenished). Go and Rust run no reconciler, so any leak or duplicate of
   * theirs stays visible; a Java reconciler may have burned the raw surplus. Credits producers took
   * out by acking partly spent tokens (their {@code returned} events) are not expected back without
   * a reconciler.
   */
  private static void checkConservation(Harness h, String sc, String lang, Fleet f) {
    // Producers return a partly spent token by acking it and leave its rest to a reconciler
    // (§6.7 [v1.1]); they say how much, so a fleet without a reconciler still balances exactly.
    long returned =
        f.producers.stream()
            .flatMap(p -> p.events("returned").stream())
            .mapToLong(e -> e.num("unspent"))
            .sum();
    long full = BUFFER + f.raw.size();
    boolean java = lang.equals("java");
    // A Java fleet has a reconciler: it mints the returned credits back.
    long want = java ? full : full - returned;
    AtomicLong t = new AtomicLong(-1);
    // Every peer has exited, but a stream's subject counts may trail its last publish a little.
    boolean ok =
        Waits.until(
            () -> {
              t.set(h.state.tokens(f.queue));
              return java ? (t.get() >= BUFFER && t.get() <= want) : t.get() == want;
            },
            Duration.ofSeconds(5),
            "the tokens of " + f.queue + " to settle at " + want);
    h.check(
        sc,
        lang
            + " worker with "
            + String.join("+", f.producers.stream().map(p -> p.lang).distinct().toList())
            + " producers conserves credits (tokens after the run "
            + (java ? "in [" + BUFFER + ", " + want + "]" : "= " + want)
            + ")",
        f.langs(),
        ok,
        "tokens "
            + t.get()
            + (ok ? "" : "; stored: " + ControlPlane.tokenDump(h.sluice(), f.queue, 200)));
  }

  /** Exactly one §8.1 record per expected dead letter, none beyond. */
  private static void checkRecords(
      Harness h,
      String sc,
      String lang,
      Fleet f,
      long startMs,
      Map<String, Map<String, Set<String>>> namesByReason)
      throws Exception {
    Peer worker = f.workers.get(0);
    Map<String, List<MessageInfo>> byMsgId = new HashMap<>();
    for (MessageInfo mi : h.state.deadLetters(f.queue)) {
      String id = DeadLetterRecords.first(mi.getHeaders(), "Sluice-Dlq-Msg-Id");
      byMsgId.computeIfAbsent(String.valueOf(id), k -> new ArrayList<>()).add(mi);
    }
    // Expected: the producer's poison messages (rejected) and the raw ones.
    Map<String, String> expected = new LinkedHashMap<>();
    Map<String, Peer.Event> sent = f.sent();
    for (Peer p : f.producers) {
      if (f.behavior.get(p).equals("poison")) {
        for (Peer.Event e : p.events("sent")) {
          expected.put(e.str("msg_id"), "rejected");
        }
      }
    }
    expected.putAll(f.raw);
    Set<String> unexpected = new TreeSet<>(byMsgId.keySet());
    unexpected.removeAll(expected.keySet());
    h.check(
        sc,
        lang + " worker: no dead-letter records beyond the expected ones",
        List.of(lang),
        unexpected.isEmpty(),
        "unexpected: " + unexpected);
    for (var en : expected.entrySet()) {
      String id = en.getKey();
      String reason = en.getValue();
      List<MessageInfo> recs = byMsgId.getOrDefault(id, List.of());
      List<String> bad = new ArrayList<>();
      if (recs.size() != 1) {
        bad.add(recs.size() + " records");
      }
      for (MessageInfo mi : recs) {
        bad.addAll(DeadLetterRecords.problems(mi, f, worker, id, reason, sent.get(id), startMs));
        if (!sent.containsKey(id) || reason.equals("rejected")) {
          namesByReason
              .computeIfAbsent(reason, k -> new TreeMap<>())
              .put(lang, DeadLetterRecords.headerNames(mi.getHeaders(), !f.raw.containsKey(id)));
        }
      }
      String kind = id.startsWith("raw-") ? "a raw message (" + id + ")" : "a poison message";
      h.check(
          sc,
          lang
              + " worker dead-letters "
              + kind
              + " as "
              + reason
              + ": one record, §8.1 headers and values, original kept",
          List.of(lang),
          bad.isEmpty(),
          summarize(bad));
    }
  }

  /** fail-once: the first delivery NAKed with the §7.3 back-off, the second processed. */
  private static void checkRetries(Harness h, String sc, String lang, Fleet f) {
    Peer worker = f.workers.get(0);
    List<String> bad = new ArrayList<>();
    for (Peer p : f.producers) {
      if (!f.behavior.get(p).equals("fail-once")) {
        continue;
      }
      for (Peer.Event s : p.events("sent")) {
        String id = s.str("msg_id");
        List<Peer.Event> naks =
            worker.events("nak").stream().filter(e -> id.equals(e.str("msg_id"))).toList();
        if (naks.size() != 1) {
          bad.add(id + ": " + naks.size() + " nak events");
        } else {
          Peer.Event k = naks.get(0);
          long d = k.num("delay_ms");
          if (!"retry".equals(k.str("reason")) || k.num("attempt") != 1 || d < 79 || d > 120) {
            bad.add(id + ": nak " + k.fields());
          }
        }
      }
    }
    h.check(
        sc,
        lang + " worker retries a failed attempt with NAK + §7.3 back-off (80-120 ms)",
        List.of(lang),
        bad.isEmpty(),
        summarize(bad));
  }

  /** The same header names and reason codes in every language. */
  private static void checkSameNames(
      Harness h, String sc, Map<String, Map<String, Set<String>>> namesByReason) {
    for (var en : namesByReason.entrySet()) {
      Map<String, Set<String>> perLang = en.getValue();
      boolean same = perLang.size() == 3 && new LinkedHashSet<>(perLang.values()).size() == 1;
      String detail = "";
      if (!same) {
        Set<String> union = new TreeSet<>();
        perLang.values().forEach(union::addAll);
        StringBuilder b = new StringBuilder();
        for (String l : LANGS) {
          Set<String> miss = new TreeSet<>(union);
          miss.removeAll(perLang.getOrDefault(l, Set.of()));
          if (!miss.isEmpty() || !perLang.containsKey(l)) {
            b.append(l)
                .append(" lacks ")
                .append(perLang.containsKey(l) ? miss : "the record")
                .append("; ");
          }
        }
        detail = b.toString();
      }
      h.check(
          sc,
          "dead-letter records for "
              + en.getKey()
              + " carry the same header names in java, go and rust",
          LANGS,
          same,
          detail);
    }
  }
}
