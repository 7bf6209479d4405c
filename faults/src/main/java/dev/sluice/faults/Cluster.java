package dev.sluice.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.api.StreamInfo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A 3-node JetStream cluster of real nats-server processes on loopback. Every route between two
 * nodes runs through a {@link TcpProxy} of its own (one per direction), so the runner can cut one
 * node off from the other two without root or iptables: {@link #partition(int)} cuts that node's
 * proxies in both directions, {@link #heal(int)} restores them. Each node advertises an address on
 * which nothing listens, so nodes never learn a direct route that would bypass the proxies. Each
 * node has a monitoring port for {@code /jsz} (the meta leader). Not thread-safe.
 */
final class Cluster {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SIZE = 3;
  private final List<NatsServer> nodes = new ArrayList<>();
  private final int[] httpPorts = new int[SIZE];
  private final TcpProxy[][] routes = new TcpProxy[SIZE][SIZE];
  private final HttpClient http = HttpClient.newHttpClient();

  /** Starts the three nodes and waits for a meta leader. */
  Cluster(Lab lab) throws Exception {
    int[] clusterPorts = new int[SIZE];
    for (int i = 0; i < SIZE; i++) {
      clusterPorts[i] = NatsServer.freePort();
      httpPorts[i] = NatsServer.freePort();
    }
    for (int i = 0; i < SIZE; i++) {
      for (int j = 0; j < SIZE; j++) {
        if (i != j) {
          routes[i][j] = lab.own(new TcpProxy("n" + (i + 1) + "-n" + (j + 1), clusterPorts[j]));
        }
      }
    }
    for (int i = 0; i < SIZE; i++) {
      List<String> urls = new ArrayList<>();
      for (int j = 0; j < SIZE; j++) {
        if (i != j) {
          urls.add("\"nats-route://127.0.0.1:" + routes[i][j].port() + "\"");
        }
      }
      List<String> extra =
          List.of(
              "http: 127.0.0.1:" + httpPorts[i],
              "cluster {",
              "  name: sluice-faults",
              "  listen: 127.0.0.1:" + clusterPorts[i],
              "  advertise: \"127.0.0.1:" + NatsServer.freePort() + "\"",
              "  routes: [" + String.join(", ", urls) + "]",
              "}");
      nodes.add(
          lab.own(
              NatsServer.create(
                  "n" + (i + 1), NatsServer.freePort(), lab.dir(), List.of(), extra)));
    }
    // All three before waiting on any: a lone node cannot form the meta group.
    List<Thread> starters = new ArrayList<>();
    for (NatsServer n : nodes) {
      Thread t = new Thread(n::start, "faults-start-" + n.name());
      t.start();
      starters.add(t);
    }
    for (Thread t : starters) {
      t.join();
    }
    nodes.forEach(lab::recordPid);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (metaLeader().isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the 3-node cluster elected no meta leader in 60 s\n"
                + nodes.stream().map(NatsServer::describe).collect(Collectors.joining()));
      }
      Thread.sleep(200); // polling the monitoring endpoint; no event to wait on
    }
  }

  /** Node {@code i} (0, 1 or 2). */
  NatsServer node(int i) {
    return nodes.get(i);
  }

  /** All nodes. */
  List<NatsServer> nodes() {
    return List.copyOf(nodes);
  }

  /** Every node's client URL, comma-separated, for a client that fails over. */
  String urls() {
    return nodes.stream().map(NatsServer::url).collect(Collectors.joining(","));
  }

  /** The index of the node leading {@code stream}, if it has a leader now. */
  Optional<Integer> streamLeader(Connection nc, String stream) {
    try {
      StreamInfo info = nc.jetStreamManagement().getStreamInfo(stream);
      if (info.getClusterInfo() == null || info.getClusterInfo().getLeader() == null) {
        return Optional.empty();
      }
      return indexOf(info.getClusterInfo().getLeader());
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  /** The index of the JetStream meta leader, asked of any live node's {@code /jsz}. */
  Optional<Integer> metaLeader() {
    for (int i = 0; i < SIZE; i++) {
      if (!nodes.get(i).isAlive()) {
        continue;
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPorts[i] + "/jsz"))
                    .timeout(Duration.ofSeconds(2))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode leader = JSON.readTree(r.body()).path("meta_cluster").path("leader");
        if (leader.isTextual() && !leader.asText().isEmpty()) {
          return indexOf(leader.asText());
        }
      } catch (Exception e) {
        // a paused or starting node: ask the next
      }
    }
    return Optional.empty();
  }

  /** Cuts node {@code i}'s routes to and from both other nodes. */
  void partition(int i) {
    for (int j = 0; j < SIZE; j++) {
      if (i != j) {
        routes[i][j].cut();
        routes[j][i].cut();
      }
    }
  }

  /** Restores node {@code i}'s routes. */
  void heal(int i) {
    for (int j = 0; j < SIZE; j++) {
      if (i != j) {
        routes[i][j].restore();
        routes[j][i].restore();
      }
    }
  }

  private Optional<Integer> indexOf(String name) {
    for (int i = 0; i < SIZE; i++) {
      if (nodes.get(i).name().equals(name)) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }
}
