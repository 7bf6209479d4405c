package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.time.Duration;
import java.util.List;

/**
 * Circuit-breaker probes (§7.6 "Probes"): for each language, a lone worker running its own
 * reconciler on a fresh queue, whose handler fails its first three runs. Those three messages are
 * dead-lettered at their first attempt, so the circuit opens with the queue drained. An open worker
 * advertises capacity 0, so no credit is minted for the queue: only a probe pull that finds the
 * queue empty closes the circuit. If it did not, the second producer would get no credit and its
 * messages would never be sent (the queue would be dead until the worker restarts).
 */
final class CircuitProbe implements Scenario {
  private static final int FAILING = 3;
  private static final int LATER = 5;

  @Override
  public String name() {
    return "circuit-probe";
  }

  @Override
  public void run(Harness h) throws Exception {
    for (String lang : List.of("go", "rust", "java")) {
      lone(h, lang);
    }
  }

  private void lone(Harness h, String lang) throws Exception {
    String sc = name();
    Fleet f = h.fleet(sc, "cf-circuit-" + lang, 0);
    Peer w =
        f.workers(
                List.of(
                    spec(
                        spec(lang, lang + "-lone"),
                        "--reconciler",
                        "--concurrency",
                        "1",
                        "--prefetch",
                        "1",
                        "--max-attempts",
                        "1",
                        "--fail-first",
                        Integer.toString(FAILING),
                        "--circuit-breaker",
                        FAILING + ",5,1000")))
            .get(0);
    Peer down = f.producer("java", "java-down-" + lang, FAILING, "ok", 0, 1);
    f.deadLettered.put(down, "max-attempts");
    boolean opened =
        Waits.until(
            () -> f.advert(w).map(a -> a.state().equals("CIRCUIT_OPEN")).orElse(false),
            Duration.ofSeconds(30),
            "the CIRCUIT_OPEN advert of " + w);
    h.check(
        sc,
        lang + " worker opens its circuit after " + FAILING + " handler failures",
        List.of(lang),
        opened,
        opened ? "" : "never seen open: " + f.advert(w));
    f.awaitProducers(List.of(down), 60_000);
    f.awaitOutcomes(30_000);
    // The queue is empty now and the circuit open: only an empty probe pull closes it.
    Peer up = f.producer("java", "java-up-" + lang, LATER, "ok", 100, 1);
    f.awaitProducers(List.of(up), 60_000);
    f.awaitOutcomes(30_000);
    f.awaitDrained();
    boolean closed =
        Waits.until(
            () -> f.advert(w).map(ControlPlane.Advert::running).orElse(false),
            Duration.ofSeconds(10),
            "the RUNNING advert of " + w);
    h.check(
        sc,
        lang + " worker closes its circuit when a probe finds the queue empty, and serves again",
        List.of(lang),
        closed && w.events("processed").size() == LATER,
        f.advert(w).map(a -> a.state() + ", capacity " + a.capacity()).orElse("no advert")
            + ", processed "
            + w.events("processed").size()
            + " of "
            + LATER);
    f.stopWorkers();
    FleetChecks.verify(f);
  }
}
