package dev.sluice.testkit;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StreamInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A 3-node JetStream cluster of real nats-server processes, one per test class. Nodes can be
 * killed, paused and restarted one by one through {@link #node(int)}; {@link #leaderOf(String)}
 * names the node that leads a stream.
 *
 * <pre>{@code
 * @RegisterExtension static final NatsClusterExtension CLUSTER = NatsClusterExtension.create();
 * }</pre>
 */
public final class NatsClusterExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {
  private static final int SIZE = 3;

  /**
   * How long the nodes get to elect a JetStream meta leader. An election round waits a random 4 to
   * 9 s of nats-server's raft timeouts before a node stands, and a split vote starts another one;
   * on a machine whose cores are shared by several builds, the three processes also start and
   * connect their routes slowly. 30 s was seen to run out once (with no other sign of trouble in
   * the failure, which then showed nothing of the servers); 60 s leaves room for several rounds.
   */
  static final Duration META_LEADER_WAIT = Duration.ofSeconds(60);

  private final List<NatsServer> nodes = new ArrayList<>();
  private Path workDir;
  private String currentTest = "test";
  private String clusterName = "sluice-test";

  private NatsClusterExtension() {}

  /**
   * A 3-node cluster named {@code sluice-test-<random>}: a name of its own, so a route that reaches
   * another test's cluster (a port picked here and taken there) is refused instead of merging two
   * clusters whose nodes have the same names.
   */
  public static NatsClusterExtension create() {
    return new NatsClusterExtension();
  }

  /** Node {@code i} (0, 1 or 2). */
  public NatsServer node(int i) {
    return nodes.get(i);
  }

  /** All nodes, in order. */
  public List<NatsServer> nodes() {
    return List.copyOf(nodes);
  }

  /** A comma-separated list of every node's URL, for a client that fails over. */
  public String urls() {
    return nodes.stream().map(NatsServer::url).collect(Collectors.joining(","));
  }

  /** A client connection that knows every node and reconnects forever. */
  public Connection connect() {
    try {
      return Nats.connect(
          new Options.Builder()
              .servers(nodes.stream().map(NatsServer::url).toArray(String[]::new))
              .maxReconnects(-1)
              .reconnectWait(Duration.ofMillis(100))
              .build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The node that currently leads {@code stream}, if the stream has a leader. */
  public Optional<NatsServer> leaderOf(String stream, Connection nc) {
    try {
      JetStreamManagement jsm = nc.jetStreamManagement();
      StreamInfo info = jsm.getStreamInfo(stream);
      if (info.getClusterInfo() == null || info.getClusterInfo().getLeader() == null) {
        return Optional.empty();
      }
      String leader = info.getClusterInfo().getLeader();
      return nodes.stream().filter(n -> n.name().equals(leader)).findFirst();
    } catch (IOException | JetStreamApiException e) {
      return Optional.empty();
    }
  }

  /** As {@link #leaderOf(String, Connection)} with a short-lived connection. */
  public Optional<NatsServer> leaderOf(String stream) {
    try (Connection nc = connect()) {
      return leaderOf(stream, nc);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** A name unique to the current test. */
  public String uniqueName(String hint) {
    return Names.unique(hint + "-" + currentTest);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    workDir = Files.createTempDirectory("sluice-cluster-");
    clusterName =
        "sluice-test-"
            + Long.toString(
                java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    int[] clusterPorts = new int[SIZE];
    int[] clientPorts = new int[SIZE];
    for (int i = 0; i < SIZE; i++) {
      clusterPorts[i] = Ports.free();
      clientPorts[i] = Ports.free();
    }
    String routes = "";
    for (int i = 0; i < SIZE; i++) {
      routes += (i == 0 ? "" : ", ") + "\"nats-route://127.0.0.1:" + clusterPorts[i] + "\"";
    }
    for (int i = 0; i < SIZE; i++) {
      List<String> extra =
          List.of(
              "cluster {",
              "  name: " + clusterName,
              "  listen: 127.0.0.1:" + clusterPorts[i],
              "  routes: [" + routes + "]",
              "}");
      nodes.add(new NatsServer("n" + (i + 1), clientPorts[i], workDir, extra));
    }
    // Start all three before waiting on any: a lone node cannot form the meta group.
    List<Thread> starters = new ArrayList<>();
    List<RuntimeException> failures = new ArrayList<>();
    for (NatsServer n : nodes) {
      Thread t =
          new Thread(
              () -> {
                try {
                  n.start();
                } catch (RuntimeException e) {
                  synchronized (failures) {
                    failures.add(e);
                  }
                }
              });
      t.start();
      starters.add(t);
    }
    for (Thread t : starters) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    awaitMetaLeader();
  }

  private void awaitMetaLeader() throws InterruptedException {
    long deadline = System.nanoTime() + META_LEADER_WAIT.toNanos();
    String last = "no answer yet";
    try (Connection nc = connect()) {
      while (System.nanoTime() < deadline) {
        try {
          nc.jetStreamManagement().getAccountStatistics();
          return;
        } catch (IOException | JetStreamApiException e) {
          last = e.toString();
        }
        List<NatsServer> exited = nodes.stream().filter(n -> !n.isAlive()).toList();
        if (!exited.isEmpty()) {
          throw new IllegalStateException(
              formationFailure(
                  "node(s) "
                      + exited.stream().map(NatsServer::name).collect(Collectors.joining(", "))
                      + " exited while the cluster formed"));
        }
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException(
        formationFailure(
            "the 3-node cluster elected no JetStream meta leader in "
                + META_LEADER_WAIT.toSeconds()
                + " s (last answer: "
                + last
                + ")"));
  }

  /**
   * The message of a cluster that did not form: the reason, then every node's ports, process state,
   * configuration and last lines of output (look for "address already in use", route errors, or
   * "JetStream cluster no metadata leader").
   */
  String formationFailure(String why) {
    StringBuilder b = new StringBuilder(why).append("; cluster ").append(clusterName).append('\n');
    for (NatsServer n : nodes) {
      b.append(n.describe());
    }
    return b.toString();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    currentTest = context.getTestMethod().map(m -> m.getName()).orElse("test");
    for (NatsServer n : nodes) {
      if (!n.isAlive()) {
        n.start();
      }
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    for (NatsServer n : nodes) {
      n.stop();
    }
    TempDirs.deleteQuietly(workDir);
  }
}
