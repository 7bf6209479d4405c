package dev.sluice.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for test servers, picked outside the kernel's ephemeral range. A port the
 * kernel hands out for {@code bind(0)} comes from the same range as the local port of every
 * outgoing connection, so on a busy machine (parallel builds, hundreds of client connections) a
 * client socket can take it between the moment it is picked and the moment nats-server binds it;
 * the server then exits ("address already in use") or, for a cluster port, leaves its cluster a
 * node short. Outside that range only another listener can take it.
 */
final class Ports {
  private static final Path RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  private static final int LOWEST = 10_000;
  private static final int HIGHEST = 65_535;
  private static final int TRIES = 200;

  private Ports() {}

  /** A port that was free on the loopback interface a moment ago. */
  static int free() {
    int[] ephemeral = ephemeralRange();
    int below = Math.max(0, ephemeral[0] - LOWEST);
    int above = Math.max(0, HIGHEST - ephemeral[1]);
    if (below + above > 0) {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < TRIES; i++) {
        int n = random.nextInt(below + above);
        int port = n < below ? LOWEST + n : ephemeral[1] + 1 + (n - below);
        if (bindable(port)) {
          return port;
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }

  /** The kernel's ephemeral port range; Linux's default when it cannot be read. */
  static int[] ephemeralRange() {
    try {
      String[] parts = Files.readString(RANGE).trim().split("\\s+");
      return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    } catch (IOException | RuntimeException e) {
      return new int[] {32768, 60999};
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
