package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;

/**
 * One server with {@code sync_interval: always} (every write fsynced before its ack) is killed with
 * SIGKILL and restarted three times under load. Proves: every acknowledged send survives the crash
 * and is handled once; producers and workers resume by themselves; the credits converge.
 */
final class ServerKill implements Scenario {
  @Override
  public String name() {
    return "server-kill";
  }

  @Override
  public String proves() {
    return "kill -9 of the only server (sync always), three times, loses no acknowledged send";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    // sync_interval came with nats-server 2.10; on 2.9 every write is fsynced only on the default
    // schedule, which the scenario then reports rather than failing to start.
    boolean syncAlways = ServerVersion.atLeast(2, 10);
    NatsServer s =
        lab.server("n1", syncAlways ? List.of("sync_interval: always") : List.of(), List.of());
    Connection nc = lab.connect(s.url());
    Workload w = new Workload(lab, nc, "skill");
    w.provision(w.spec().build());
    w.startWorker(lab.connect(s.url()), "w1", Duration.ofMillis(5));
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender load =
        w.startSender(w.producer(lab.connect(s.url()), "p1"), "m", 900, Duration.ofMillis(10));
    long end = 0;
    for (int round = 1; round <= 3; round++) {
      int before = w.effectCount();
      w.awaitEffects(before + 60, Duration.ofSeconds(90));
      lab.status("kill -9 of the server, " + round + " of 3");
      s.kill();
      s.start();
      lab.recordPid(s);
      end = System.nanoTime();
    }
    double rec = w.recover(load, end, Duration.ofSeconds(90));
    return ScenarioResult.of(
        name(),
        w.ledger(),
        w.creditsBalanced(),
        rec,
        null,
        "3 kills under load" + (syncAlways ? ", sync always" : ", default sync (server < 2.10)"));
  }
}
