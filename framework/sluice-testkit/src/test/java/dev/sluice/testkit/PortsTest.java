package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class PortsTest {
  @Test
  void aFreePortIsOutsideTheEphemeralRangeAndBindable() throws IOException {
    int[] ephemeral = Ports.ephemeralRange();
    for (int i = 0; i < 50; i++) {
      int port = Ports.free();
      assertThat(port < ephemeral[0] || port > ephemeral[1])
          .as("port %d outside the ephemeral range %d-%d", port, ephemeral[0], ephemeral[1])
          .isTrue();
      assertThat(port).isBetween(1024, 65535);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      }
    }
  }
}
