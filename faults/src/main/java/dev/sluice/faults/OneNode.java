package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;

/**
 * The set-up the single-server scenarios share: one nats-server without options or users, a
 * connection to it, and the scenario's queue provisioned with the suite's defaults ({@link
 * Workload#spec()}).
 *
 * @param server the server, stopped with the scenario
 * @param nc a connection to it, closed with the scenario
 * @param workload the provisioned queue's workload
 */
record OneNode(NatsServer server, Connection nc, Workload workload) {
  /** Starts the server, connects and provisions {@code queue}. */
  static OneNode provisioned(Lab lab, String queue) {
    NatsServer s = lab.server("n1", List.of(), List.of());
    Connection nc = lab.connect(s.url());
    Workload w = new Workload(lab, nc, queue);
    w.provision(w.spec().build());
    return new OneNode(s, nc, w);
  }

  /**
   * As {@link #provisioned}, with one in-process worker whose handler takes {@code handlerTime}.
   */
  static OneNode withWorker(Lab lab, String queue, Duration handlerTime) {
    OneNode n = provisioned(lab, queue);
    n.workload().startWorker(n.nc(), "w1", handlerTime);
    return n;
  }
}
