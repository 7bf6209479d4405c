package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One fault on a 3-node cluster with R3 streams, under load from two workers and a producer on
 * connections that know every node. The fault is one of {@link Kind}; in each, the scenario
 * measures recovery from the moment the fault is lifted (the node restarted, thawed or
 * reconnected).
 */
final class ClusterFault implements Scenario {
  /** The faults this scenario can inject. */
  enum Kind {
    /** SIGKILL of the work stream's leader; restarted once another node leads. */
    STREAM_LEADER_KILL("stream-leader-kill", "kill -9 of the work stream's leader"),
    /** SIGKILL of the JetStream meta leader; restarted once another node leads. */
    META_LEADER_KILL("meta-leader-kill", "kill -9 of the JetStream meta leader"),
    /** SIGSTOP of the work stream's leader for 10 s, then SIGCONT. */
    LEADER_PAUSE("leader-pause", "SIGSTOP of the work stream's leader for 10 s"),
    /** SIGKILL of all three nodes, then all restarted. */
    ALL_RESTART("all-nodes-kill", "kill -9 of all three nodes, then restart"),
    /** The work stream's leader cut off from both other nodes for 10 s (route proxies). */
    PARTITION("partition", "the work stream's leader partitioned from the others for 10 s");

    final String scenarioName;
    final String what;

    Kind(String scenarioName, String what) {
      this.scenarioName = scenarioName;
      this.what = what;
    }
  }

  private static final Duration OUTAGE = Duration.ofSeconds(10);
  private final Kind kind;

  ClusterFault(Kind kind) {
    this.kind = kind;
  }

  @Override
  public String name() {
    return kind.scenarioName;
  }

  @Override
  public String proves() {
    return kind.what + " (R3) loses no acknowledged send and runs no handler twice";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    lab.status("starting a 3-node cluster");
    Cluster c = new Cluster(lab);
    Connection admin = lab.connect(c.urls());
    Workload w = new Workload(lab, admin, "cl");
    w.provision(w.spec().replicas(3).build());
    w.startWorker(lab.connect(c.urls()), "w1", Duration.ofMillis(5));
    w.startWorker(lab.connect(c.urls()), "w2", Duration.ofMillis(5));
    w.awaitBalanced(Duration.ofSeconds(30));
    Workload.Sender load =
        w.startSender(w.producer(lab.connect(c.urls()), "p1"), "m", 1500, Duration.ofMillis(10));
    w.awaitEffects(100, Duration.ofSeconds(60));
    String stream = "SLUICE_Q_" + w.queue();
    String note;
    switch (kind) {
      case STREAM_LEADER_KILL ->
          note = killAndRestart(lab, c, leader(c, admin, stream), admin, stream);
      case META_LEADER_KILL -> {
        int i = c.metaLeader().orElseThrow(() -> new IllegalStateException("no meta leader"));
        note = killAndRestart(lab, c, i, admin, null);
      }
      case LEADER_PAUSE -> {
        int i = leader(c, admin, stream);
        lab.status("SIGSTOP of " + c.node(i).name() + " for " + OUTAGE.toSeconds() + " s");
        c.node(i).pause();
        Thread.sleep(OUTAGE.toMillis()); // the fault's length, not a wait for an outcome
        c.node(i).resume();
        note = c.node(i).name() + " paused " + OUTAGE.toSeconds() + " s";
      }
      case ALL_RESTART -> {
        lab.status("kill -9 of all three nodes");
        for (NatsServer n : c.nodes()) {
          n.kill();
        }
        List<Thread> starters = new ArrayList<>();
        for (NatsServer n : c.nodes()) {
          Thread t = new Thread(n::start, "faults-restart-" + n.name());
          t.start();
          starters.add(t);
        }
        for (Thread t : starters) {
          t.join();
        }
        c.nodes().forEach(lab::recordPid);
        note = "all three killed and restarted";
      }
      case PARTITION -> {
        int i = leader(c, admin, stream);
        lab.status("partition of " + c.node(i).name() + " for " + OUTAGE.toSeconds() + " s");
        c.partition(i);
        Thread.sleep(OUTAGE.toMillis()); // the fault's length, not a wait for an outcome
        Optional<Integer> during = c.streamLeader(admin, stream);
        c.heal(i);
        note =
            c.node(i).name()
                + " partitioned "
                + OUTAGE.toSeconds()
                + " s; leader during it: "
                + during.map(j -> c.node(j).name()).orElse("none");
      }
      default -> throw new IllegalStateException("unknown fault " + kind);
    }
    long end = System.nanoTime();
    double rec = w.recover(load, end, Duration.ofSeconds(120));
    return ScenarioResult.of(name(), w.ledger(), w.creditsBalanced(), rec, null, note);
  }

  private static int leader(Cluster c, Connection nc, String stream) {
    return c.streamLeader(nc, stream)
        .orElseThrow(() -> new IllegalStateException(stream + " has no leader"));
  }

  /**
   * Kills node {@code i}, waits until another node leads ({@code stream}'s leader, or the meta
   * leader when {@code stream} is null), then restarts it.
   */
  private static String killAndRestart(Lab lab, Cluster c, int i, Connection nc, String stream)
      throws InterruptedException {
    lab.status("kill -9 of " + c.node(i).name());
    c.node(i).kill();
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofSeconds(60).toNanos();
    Optional<Integer> next = Optional.empty();
    while (System.nanoTime() < deadline) {
      next = stream == null ? c.metaLeader() : c.streamLeader(nc, stream);
      if (next.isPresent() && next.get() != i) {
        break;
      }
      Thread.sleep(100); // polling the cluster's state
    }
    double elected = (System.nanoTime() - t0) / 1e9;
    c.node(i).start();
    lab.recordPid(c.node(i));
    return String.format(
        "%s killed; %s leads after %.1f s",
        c.node(i).name(), next.map(j -> c.node(j).name()).orElse("no node"), elected);
  }
}
