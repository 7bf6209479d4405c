package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.util.List;

/** Go and Rust producers, at once, with two Java workers. */
final class ForeignProducers implements Scenario {
  @Override
  public String name() {
    return "go-rust-producers-java-workers";
  }

  @Override
  public void run(Harness h) throws Exception {
    Fleet f = h.fleet(name(), "cf-foreign", 0);
    f.workers(
        List.of(
            spec("java", "java-w1", "--work-ms", "5"), spec("java", "java-w2", "--work-ms", "5")));
    Peer g = f.producer("go", "go-p1", 50, "ok", 0, 1);
    Peer r = f.producer("rust", "rust-p1", 50, "ok", 0, 1);
    Peer gf = f.producer("go", "go-p2", 5, "fail-once", 0, 1);
    Peer rf = f.producer("rust", "rust-p2", 5, "fail-once", 0, 1);
    f.awaitProducers(List.of(g, r, gf, rf), 90_000);
    f.awaitOutcomes(30_000);
    f.awaitDrained();
    f.stopWorkers();
    FleetChecks.verify(f);
    FleetChecks.eachWorkerProcessed(f);
  }
}
