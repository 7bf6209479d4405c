package dev.sluice.examples.polyglot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testkit.NatsServerExtension;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs the polyglot demo program as {@code scripts/demo --polyglot --json} does, on a real
 * nats-server, with the programs this module can run or build itself: the example's Java worker and
 * producer (real orders, protobuf, versions 1 and 2), and the Go conformance peer built here (as a
 * stand-in speaking the peers' contract). The Rust worker and the Go producer of the example are
 * run by {@code scripts/demo --polyglot}, not here: this test builds nothing with cargo.
 */
class PolyglotDemoTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  /** Runs the demo's command line; returns its exit status and the last stdout line as JSON. */
  private Result demo(String... args) {
    PolyglotDemo d = new PolyglotDemo();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    d.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    List<String> all = new ArrayList<>(List.of("--server", NATS.server().url()));
    all.addAll(List.of("--logs", tmp.resolve("logs").toString(), "--quiet", "--json"));
    all.addAll(List.of(args));
    int code = new CommandLine(d).execute(all.toArray(String[]::new));
    String[] lines = buf.toString(StandardCharsets.UTF_8).trim().split("\n");
    try {
      return new Result(code, JSON.readTree(lines[lines.length - 1]), String.join("\n", lines));
    } catch (IOException e) {
      throw new AssertionError("the last stdout line is not JSON: " + buf, e);
    }
  }

  record Result(int code, JsonNode json, String stdout) {}

  @Test
  void javaWorkersProcessEveryOrderUnderBackPressure() {
    // Workers slower than the producer: 2 workers x 2 handlers x 20 ms = 100 orders/s at most.
    Result r =
        demo(
            "--queue", NATS.uniqueName("orders-poly"),
            "--producer", "java:example:self",
            "--worker", "java:example:self",
            "--worker", "java:example:self",
            "--count", "300",
            "--concurrency", "2",
            "--service-ms", "20");

    JsonNode j = r.json();
    assertThat(r.code()).as(r.stdout()).isZero();
    assertThat(j.get("sent").asLong()).isEqualTo(300);
    assertThat(j.get("processed").asLong()).isEqualTo(300);
    assertThat(j.get("processed_by").get("java").asLong()).isEqualTo(300);
    assertThat(j.get("processed_by").get("go").asLong()).isZero();
    assertThat(j.get("processed_by").get("rust").asLong()).isZero();
    assertThat(j.get("lost").asLong()).isZero();
    assertThat(j.get("dead_lettered").asLong()).isZero();
    assertThat(j.get("duplicates").asLong()).isZero();
    // Two workers of capacity 2 + 4 (concurrency + prefetch): W = 12.
    assertThat(j.get("window").asLong()).isEqualTo(12);
    long bound = j.get("window").asLong() + j.get("slack").asLong();
    assertThat(j.get("max_backlog").asLong()).isLessThanOrEqualTo(bound);
    // Back-pressure was visible: the backlog reached half the window and the producer waited.
    assertThat(j.get("max_backlog").asLong()).isGreaterThanOrEqualTo(6);
    assertThat(j.get("max_credit_wait_ms").asLong()).isPositive();
  }

  @Test
  void contractPeersStandIn() throws Exception {
    Path goPeer = buildGoPeer();
    // The Go peer speaks the peers' contract (sluice.conformance.Work, msg ids go-<seq>) and runs
    // no reconciler: the standing buffer is the fleet's capacity, 2 x (2 + 4).
    Result r =
        demo(
            "--queue",
            NATS.uniqueName("orders-standin"),
            "--producer",
            "go:contract:" + goPeer,
            "--worker",
            "go:contract:" + goPeer,
            "--worker",
            "go:contract:" + goPeer,
            "--count",
            "200",
            "--concurrency",
            "2",
            "--service-ms",
            "5",
            "--standing-buffer",
            "12");

    JsonNode j = r.json();
    assertThat(r.code()).as(r.stdout()).isZero();
    assertThat(j.get("sent").asLong()).isEqualTo(200);
    assertThat(j.get("processed").asLong()).isEqualTo(200);
    assertThat(j.get("processed_by").get("go").asLong()).isEqualTo(200);
    assertThat(j.get("lost").asLong()).isZero();
    assertThat(j.get("duplicates").asLong()).isZero();
    assertThat(j.get("max_backlog").asLong())
        .isLessThanOrEqualTo(j.get("window").asLong() + j.get("slack").asLong());
  }

  @Test
  void aWorkerThatCannotStartFailsTheRunWithItsError() {
    Result r =
        demo(
            "--queue",
            NATS.uniqueName("orders-bad"),
            "--producer",
            "java:example:self",
            "--worker",
            "java:example:" + tmp.resolve("no-such-worker"),
            "--count",
            "10");

    assertThat(r.code()).isEqualTo(3);
  }

  /** Builds the Go conformance peer (peers/go) into the temp directory with the go tool. */
  private Path buildGoPeer() throws Exception {
    Path peers = repoRoot().resolve("peers/go");
    Path bin = tmp.resolve("sluice-peer-go");
    Path log = tmp.resolve("go-build.log");
    Process p =
        new ProcessBuilder("go", "build", "-o", bin.toString(), "./cmd/sluice-peer-go")
            .directory(peers.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("go build finished").isTrue();
    assertThat(p.exitValue())
        .as("go build of the Go peer (go on PATH?): %s", Files.readString(log))
        .isZero();
    return bin;
  }

  private static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !new File(dir.toFile(), "peers/go/go.mod").exists()) {
      dir = dir.getParent();
    }
    assertThat(dir).as("the repository root above %s", Path.of("").toAbsolutePath()).isNotNull();
    return dir;
  }
}
