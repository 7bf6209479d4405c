package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.util.List;

/** A Java producer (plus a fail-once one) with Go, Rust and Java workers on one queue. */
final class MixedWorkers implements Scenario {
  @Override
  public String name() {
    return "java-producer-mixed-workers";
  }

  @Override
  public void run(Harness h) throws Exception {
    Fleet f = h.fleet(name(), "cf-mixed", 0);
    f.workers(
        List.of(
            spec("go", "go-w1", "--work-ms", "10"),
            spec("rust", "rust-w1", "--work-ms", "10"),
            spec("java", "java-w1", "--work-ms", "10")));
    Peer p1 = f.producer("java", "java-p1", 90, "ok", 0, 1);
    Peer p2 = f.producer("java", "java-p2", 9, "fail-once", 0, 1);
    f.awaitProducers(List.of(p1, p2), 90_000);
    f.awaitOutcomes(30_000);
    f.awaitDrained();
    f.stopWorkers();
    FleetChecks.verify(f);
    FleetChecks.eachWorkerProcessed(f);
  }
}
