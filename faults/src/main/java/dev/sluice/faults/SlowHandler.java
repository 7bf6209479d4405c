package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;

/**
 * Every tenth message takes 5 s in its handler, against an ack wait of 2 s. Proves: the worker's
 * progress acks keep the server from redelivering a message whose handler is still running, so no
 * effect happens twice and nothing is dead-lettered.
 */
final class SlowHandler implements Scenario {
  private static final Duration ACK_WAIT = Duration.ofSeconds(2);
  private static final Duration SLOW = Duration.ofSeconds(5);

  @Override
  public String name() {
    return "slow-handler";
  }

  @Override
  public String proves() {
    return "handlers slower than the ack wait are not redelivered while they run";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    NatsServer s = lab.server("n1", List.of(), List.of());
    Connection nc = lab.connect(s.url());
    Workload w = new Workload(lab, nc, "slow");
    w.provision(w.spec().ackWait(ACK_WAIT).build());
    IdLog effects = w.effects();
    lab.own(
        w.worker(
                nc,
                "w1",
                (body, ctx) -> {
                  if (ctx.messageId().endsWith("0")) {
                    Thread.sleep(SLOW.toMillis()); // the slow work itself
                  }
                  effects.append(ctx.messageId());
                })
            .handlerTimeout(Duration.ofSeconds(30))
            .start());
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender load = w.startSender(w.producer(nc, "p1"), "m", 60, Duration.ofMillis(20));
    load.awaitOffered(Duration.ofSeconds(60));
    long end = System.nanoTime();
    double rec = w.awaitRecovery(end, Duration.ofSeconds(90));
    Ledger l = w.ledger();
    String check =
        l.deadLetteredCount() == 0 ? null : l.deadLetteredCount() + " slow messages dead-lettered";
    return ScenarioResult.of(
        name(), l, w.creditsBalanced(), rec, check, "6 handlers of 5 s against an ack wait of 2 s");
  }
}
