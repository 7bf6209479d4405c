package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Downstream pushback (§15.1): Go, Rust and Java workers whose handlers answer overloaded for their
 * first seconds. Every message is processed on its first delivery (a pushback is no attempt),
 * nothing is dead-lettered or lost, and each worker's advert shows its capacity lowered by pushback
 * and then back at its configured capacity.
 */
final class Pushback implements Scenario {
  private static final int OVERLOADED_MS = 8000;

  @Override
  public String name() {
    return "pushback";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    Fleet f = h.fleet(sc, "cf-pushback", 0);
    String[] flags = {"--overloaded-for-ms", Integer.toString(OVERLOADED_MS), "--work-ms", "5"};
    List<Peer> ws =
        f.workers(
            List.of(
                spec(spec("go", "go-w1"), flags),
                spec(spec("rust", "rust-w1"), flags),
                spec(spec("java", "java-w1"), flags)));
    Peer p = f.producer("java", "java-p1", 60, "ok", 0, 1);
    // While overloaded: each worker's advert shows its capacity lowered (below its nominal one).
    Map<Peer, String> lowered = new HashMap<>();
    Waits.until(
        () -> {
          for (Peer w : ws) {
            f.advert(w)
                .filter(ControlPlane.Advert::loweredByPushback)
                .ifPresent(
                    a -> lowered.putIfAbsent(w, a.capacity() + " of " + a.nominalCapacity()));
          }
          return lowered.size() == ws.size();
        },
        Duration.ofMillis(OVERLOADED_MS + 4000),
        "every advert lowered by pushback");
    for (Peer w : ws) {
      h.check(
          sc,
          w.lang + " worker advertises its capacity lowered by pushback while overloaded",
          List.of(w.lang),
          lowered.containsKey(w),
          lowered.containsKey(w)
              ? "lowered to " + lowered.get(w)
              : "never seen lowered: " + f.advert(w));
    }
    f.awaitProducers(List.of(p), 120_000);
    f.awaitOutcomes(60_000);
    f.awaitDrained();
    // After the overload: the capacity grows back to the configured one (+1 a second).
    for (Peer w : ws) {
      boolean back =
          Waits.until(
              () -> f.advert(w).filter(a -> a.running() && !a.loweredByPushback()).isPresent(),
              Duration.ofSeconds(30),
              "the advert of " + w + " back at its configured capacity");
      Optional<ControlPlane.Advert> a = f.advert(w);
      h.check(
          sc,
          w.lang + " worker's capacity recovers after the overload",
          List.of(w.lang),
          back && a.map(x -> x.pushbacks() > 0).orElse(false),
          a.map(x -> x.capacity() + " of " + x.nominalCapacity() + ", pushbacks " + x.pushbacks())
              .orElse("no advert"));
    }
    for (Peer w : ws) {
      List<Peer.Event> processed = w.events("processed");
      long later = processed.stream().filter(e -> e.num("attempt") != 1).count();
      h.check(
          sc,
          w.lang + " worker: a pushback is no attempt (every message processed on delivery 1)",
          List.of(w.lang),
          later == 0,
          later + " of " + processed.size() + " processed on a later delivery");
    }
    f.stopWorkers();
    FleetChecks.verify(f);
  }
}
