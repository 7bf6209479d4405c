package dev.sluice.conformance;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The nats-server of a run: JetStream on a free loopback port with a temporary store, its output in
 * {@code nats-server.log} beside the peers' logs. Thread-safe.
 */
final class NatsServer implements AutoCloseable {
  private final Process process;
  private final String url;

  private NatsServer(Process process, String url) {
    this.process = process;
    this.url = url;
  }

  /**
   * Starts the server and returns once it accepts connections; throws {@link IOException} when it
   * exits or does not listen within 20 s.
   */
  static NatsServer start(String binary, Path logs, Path pidFile) throws IOException {
    Path store = Files.createTempDirectory("sluice-conformance-js-");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path log = logs.resolve("nats-server.log");
    ProcessBuilder pb =
        new ProcessBuilder(
            binary, "-js", "-sd", store.toString(), "-a", "127.0.0.1", "-p", String.valueOf(port));
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    Launcher.recordPid(pidFile, p.pid());
    Waits.until(
        () -> !p.isAlive() || accepts(port), Duration.ofSeconds(20), "nats-server on port " + port);
    if (!p.isAlive() || !accepts(port)) {
      p.destroyForcibly();
      throw new IOException("nats-server did not start; see " + log);
    }
    return new NatsServer(p, "nats://127.0.0.1:" + port);
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  String url() {
    return url;
  }

  /** SIGTERM, then SIGKILL when the server has not exited within 5 s. Idempotent. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
