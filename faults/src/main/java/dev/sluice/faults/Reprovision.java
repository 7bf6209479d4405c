package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.time.Duration;

/**
 * An operator deletes the work stream's consumer and the stream itself while workers and a producer
 * are running (after the backlog drained, so no stored work is destroyed), then provisions the
 * queue again. Proves: workers and producers resume on the new stream by themselves, everything
 * sent afterwards is processed once, and the credits converge.
 */
final class Reprovision implements Scenario {
  @Override
  public String name() {
    return "reprovision";
  }

  @Override
  public String proves() {
    return "a work stream and consumer deleted and re-provisioned under running clients recover";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    OneNode n = OneNode.provisioned(lab, "reprov");
    NatsServer s = n.server();
    Connection nc = n.nc();
    Workload w = n.workload();
    w.startWorker(lab.connect(s.url()), "w1", Duration.ofMillis(2));
    w.awaitBalanced(Duration.ofSeconds(20));
    var producer = w.producer(lab.connect(s.url()), "p1");
    w.startSender(producer, "before", 100, Duration.ofMillis(5))
        .awaitOffered(Duration.ofSeconds(60));
    if (w.awaitRecovery(System.nanoTime(), Duration.ofSeconds(30)) < 0) {
      return ScenarioResult.of(name(), w.ledger(), false, -1, "the first batch never settled", "");
    }
    lab.status("deleting the consumer and the work stream");
    JetStreamManagement jsm = nc.jetStreamManagement();
    String stream = "SLUICE_Q_" + w.queue();
    jsm.deleteConsumer(stream, "workers");
    jsm.deleteStream(stream);
    Thread.sleep(2_000); // clients run against the missing stream for a while: the fault itself
    w.provision(w.spec().build());
    long end = System.nanoTime();
    w.startSender(producer, "after", 100, Duration.ofMillis(5))
        .awaitOffered(Duration.ofSeconds(60));
    double rec = w.awaitRecovery(end, Duration.ofSeconds(60));
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, null, "deleted for 2 s, then re-provisioned");
  }
}
