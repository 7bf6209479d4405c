package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import io.nats.client.api.MessageInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Fairness keys (§15.3 [v1.3]) in a mixed fleet: a Java producer floods under one key while Go and
 * Rust producers send a few messages under their own keys through the same queue, to workers of all
 * three languages. Nothing is lost, the quiet keys' messages are processed while the flood is still
 * being sent, a dead-letter record keeps the key header, and every producer refuses a malformed key
 * before it sends.
 */
final class Fairness implements Scenario {
  static final int FLOOD = 400;
  static final int QUIET = 12;

  @Override
  public String name() {
    return "fairness";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    Fleet f = h.fleet(sc, "cf-fair", 0);
    String[] slow = {"--concurrency", "2", "--prefetch", "2", "--work-ms", "40"};
    f.workers(
        List.of(
            spec(spec("go", "go-w1"), slow),
            spec(spec("rust", "rust-w1"), slow),
            spec(spec("java", "java-w1"), slow)));
    Peer flood = f.producer("java", "java-flood", FLOOD, "ok", 0, 1, key("tenant-flood"));
    flood.awaitReady(60_000);
    // The quiet keys start once the flood has filled the window.
    Waits.until(
        () -> flood.events("sent").size() >= 30,
        java.time.Duration.ofSeconds(60),
        "30 sends of the flood");
    Peer go = f.producer("go", "go-quiet", QUIET, "ok", 0, 1, key("tenant-go"));
    Peer rust = f.producer("rust", "rust-quiet", QUIET, "ok", 0, 1, key("tenant-rust"));
    Peer poison = f.producer("go", "go-poison", 1, "poison", 0, 1, key("tenant-dlq"));
    f.awaitProducers(List.of(flood, go, rust, poison), 180_000);
    f.awaitOutcomes(60_000);

    List<Peer.Event> floodSent = flood.events("sent");
    long floodLast =
        floodSent.isEmpty() ? Long.MIN_VALUE : floodSent.get(floodSent.size() - 1).nanos();
    for (Peer quiet : List.of(go, rust)) {
      long lastProcessed = lastProcessed(f, quiet.id + "-");
      h.check(
          sc,
          quiet.lang + " producer's key is served while the Java flood still sends",
          List.of(quiet.lang, "java"),
          lastProcessed != Long.MIN_VALUE && lastProcessed < floodLast,
          String.format(
              "last %s message processed %.2f s before the flood's last send",
              quiet.id, (floodLast - lastProcessed) / 1e9));
    }
    checkDeadLetterKeepsKey(h, f);
    checkBadKeysRefused(h, f);
    f.awaitDrained();
    f.stopWorkers();
    FleetChecks.verify(f);
  }

  private static List<String> key(String k) {
    return List.of("--fairness-key", k);
  }

  /** When the last message whose id starts with {@code prefix} was processed, or MIN_VALUE. */
  private static long lastProcessed(Fleet f, String prefix) {
    long last = Long.MIN_VALUE;
    for (Peer w : f.workers) {
      for (Peer.Event e : w.events("processed")) {
        String id = e.str("msg_id");
        if (id != null && id.startsWith(prefix)) {
          last = Math.max(last, e.nanos());
        }
      }
    }
    return last;
  }

  private static void checkDeadLetterKeepsKey(Harness h, Fleet f) throws Exception {
    List<MessageInfo> records = h.state.deadLetters(f.queue);
    Set<String> keys = new TreeSet<>();
    for (MessageInfo mi : records) {
      String k = DeadLetterRecords.first(mi.getHeaders(), "Sluice-Fairness-Key");
      keys.add(String.valueOf(k));
    }
    h.check(
        f.scenario,
        "the dead-letter record keeps Sluice-Fairness-Key",
        f.workerLangs(),
        records.size() == 1 && keys.equals(Set.of("tenant-dlq")),
        records.size() + " records, keys " + keys);
  }

  /** Each language's producer exits non-zero on a malformed key, sending nothing. */
  private static void checkBadKeysRefused(Harness h, Fleet f) throws Exception {
    List<String> langs = new ArrayList<>(Report.LANGS);
    for (String lang : langs) {
      String id = lang + "-badkey";
      Peer p =
          h.launcher.start(
              lang,
              "producer",
              id,
              List.of(
                  "produce",
                  "--server",
                  h.url,
                  "--queue",
                  f.queue,
                  "--producer-id",
                  id,
                  "--count",
                  "1",
                  "--fairness-key",
                  "x".repeat(65)));
      Integer code = p.awaitExit(60_000);
      if (code == null) {
        p.kill();
      }
      h.check(
          f.scenario,
          lang + " producer refuses a 65-character fairness key",
          List.of(lang),
          code != null && code != 0 && p.events("sent").isEmpty(),
          "exit " + code + ", " + p.events("sent").size() + " sent; " + p.stderrTail(2));
    }
  }
}
