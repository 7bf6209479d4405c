package dev.sluice.faults;

import io.nats.client.Connection;
import java.time.Duration;

/**
 * A producer in a child JVM sends two messages, keeps the rest of its token and is killed with
 * SIGKILL. Proves: the held token comes back after its lease, the duplicate credit is burnt,
 * circulation returns to the window, and the queue keeps serving a new producer.
 */
final class ProducerKill implements Scenario {
  @Override
  public String name() {
    return "producer-kill";
  }

  @Override
  public String proves() {
    return "a producer killed holding credit tokens loses nothing; its credits return within a lease";
  }

  @Override
  public boolean quick() {
    return true;
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    OneNode n = OneNode.withWorker(lab, "pkill", Duration.ofMillis(2));
    Connection nc = n.nc();
    Workload w = n.workload();
    w.awaitBalanced(Duration.ofSeconds(20));
    lab.status("child producer sending");
    Process child =
        lab.java(
            "producer",
            ChildProducer.class,
            n.server().url(),
            w.queue(),
            w.childAcks().path().toString(),
            "2");
    String holding = lab.awaitLine("producer", child, "HOLDING", Duration.ofSeconds(30));
    long held = Long.parseLong(holding.substring("HOLDING ".length()).trim());
    lab.status("kill -9 of the producer holding " + held + " credits");
    lab.kill9(child);
    long end = System.nanoTime();
    // Recovery: the child's token comes back after its lease and circulation returns to W.
    double rec = w.awaitRecovery(end, Duration.ofSeconds(60));
    // And the queue serves a new producer.
    w.startSender(w.producer(nc, "p1"), "after", 100, Duration.ofMillis(5))
        .awaitOffered(Duration.ofSeconds(60));
    if (w.awaitRecovery(System.nanoTime(), Duration.ofSeconds(60)) < 0) {
      rec = -1;
    }
    String check = held > 0 ? null : "the child held no credits when killed (nothing tested)";
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, check, "killed holding " + held + " credits");
  }
}
