package dev.sluice.faults;

import io.nats.client.Connection;
import java.time.Duration;

/**
 * A worker in a child JVM, busy with four 500 ms handlers at a time, is killed with SIGKILL under
 * load. Proves: its in-flight messages are redelivered after the ack wait and handled once by the
 * surviving worker, its advert expires, the window shrinks and the credits converge.
 */
final class WorkerKill implements Scenario {
  @Override
  public String name() {
    return "worker-kill";
  }

  @Override
  public String proves() {
    return "a worker killed mid-handler loses nothing and runs no handler twice";
  }

  @Override
  public boolean quick() {
    return true;
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    // Slower than the offered load, so the backlog stays at the window and the child is always
    // in the middle of four handlers.
    OneNode n = OneNode.withWorker(lab, "wkill", Duration.ofMillis(50));
    Connection nc = n.nc();
    Workload w = n.workload();
    Process child =
        lab.java(
            "worker",
            ChildWorker.class,
            n.server().url(),
            w.queue(),
            "child",
            w.effects().path().toString(),
            "500");
    lab.awaitLine("worker", child, "READY", Duration.ofSeconds(30));
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender load = w.startSender(w.producer(nc, "p1"), "m", 400, Duration.ofMillis(10));
    w.awaitEffects(40, Duration.ofSeconds(60));
    lab.status("kill -9 of the worker mid-handler");
    lab.kill9(child);
    long end = System.nanoTime();
    double rec = w.recover(load, end, Duration.ofSeconds(60));
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, null, "child killed with 4 handlers running");
  }
}
