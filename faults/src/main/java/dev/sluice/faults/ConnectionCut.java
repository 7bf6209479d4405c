package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;

/**
 * The worker's and the producer's connections run through a loopback proxy, which drops them and
 * refuses new ones for 5 s under load, then lets them reconnect. Proves: unacked deliveries and
 * held tokens of the cut clients come back, nothing is lost or handled twice, the credits converge.
 */
final class ConnectionCut implements Scenario {
  private static final Duration OUTAGE = Duration.ofSeconds(5);

  @Override
  public String name() {
    return "connection-cut";
  }

  @Override
  public String proves() {
    return "client connections cut for 5 s and restored lose nothing and duplicate nothing";
  }

  @Override
  public boolean quick() {
    return true;
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    NatsServer s = lab.server("n1", List.of(), List.of());
    TcpProxy proxy = lab.own(new TcpProxy("clients", s.port()));
    String viaProxy = "nats://127.0.0.1:" + proxy.port();
    Connection admin = lab.connect(s.url());
    Workload w = new Workload(lab, admin, "cut");
    w.provision(w.spec().build());
    w.startWorker(lab.connect(viaProxy), "w1", Duration.ofMillis(5));
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender load =
        w.startSender(w.producer(lab.connect(viaProxy), "p1"), "m", 600, Duration.ofMillis(10));
    w.awaitEffects(50, Duration.ofSeconds(60));
    lab.status("connections cut for " + OUTAGE.toSeconds() + " s");
    proxy.cut();
    Thread.sleep(OUTAGE.toMillis()); // the fault's length, not a wait for an outcome
    proxy.restore();
    long end = System.nanoTime();
    double rec = w.recover(load, end, Duration.ofSeconds(60));
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, null, "cut " + OUTAGE.toSeconds() + " s");
  }
}
