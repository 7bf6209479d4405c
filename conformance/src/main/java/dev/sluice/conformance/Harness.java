package dev.sluice.conformance;

import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import java.io.IOException;
import java.util.Collection;

/**
 * What every scenario works with: the runner's own connection to the server, the peer launcher, the
 * queue state reader and the report. Thread-safe.
 */
final class Harness {
  /** The token batch b every queue is provisioned with and every peer is told (§5.3). */
  static final int BATCH = 8;

  /** The payload type of every conformance message. */
  static final String TYPE = JavaPeer.DEFAULT_TYPE;

  final String url;
  final Connection nc;
  final JetStream js;
  final Launcher launcher;
  final QueueState state;
  final Report report;
  private final Sluice sluice;

  /** The library on the runner's connection, for its public read model. */
  Sluice sluice() {
    return sluice;
  }

  Harness(String url, Connection nc, Launcher launcher, Report report) throws IOException {
    this.url = url;
    this.nc = nc;
    this.js = nc.jetStream();
    this.launcher = launcher;
    this.state = new QueueState(nc);
    this.report = report;
    this.sluice = Sluice.using(nc);
  }

  /** Provisions {@code queue} (token batch 8) and returns an empty fleet for it. */
  Fleet fleet(String scenario, String queue, int standingBuffer) {
    sluice.provision(
        QueueSpec.builder(queue).tokenBatch(BATCH).standingBuffer(standingBuffer).build());
    return new Fleet(this, scenario, queue);
  }

  void check(String scenario, String name, Collection<String> langs, boolean ok, String detail) {
    report.check(scenario, name, langs, ok, detail);
  }
}
