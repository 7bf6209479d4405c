package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A test server is quiet: its console output at DEBUG, and no warning when it stops. */
class ServerOutputTest {
  @Test
  void startAndStopLogNothingAboveDebug(@TempDir Path dir) {
    Logger serverLog = (Logger) LoggerFactory.getLogger("dev.sluice.testkit.nats-server");
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    serverLog.addAppender(events);
    Level before = serverLog.getLevel();
    serverLog.setLevel(Level.DEBUG);
    try (NatsServer s =
        NatsServer.create("quiet", NatsServer.freePort(), dir, List.of(), List.of())) {
      s.start();
      s.stop();
    } finally {
      serverLog.detachAppender(events);
      serverLog.setLevel(before);
    }
    assertThat(events.list).as("the server's output is logged").isNotEmpty();
    assertThat(events.list)
        .allSatisfy(
            e -> assertThat(e.getLevel()).as(e.getFormattedMessage()).isEqualTo(Level.DEBUG));
  }

  @Test
  void theRunnersStreamClosedWarningIsShutdownNoise() {
    assertThat(
            ServerOutput.isShutdownNoise(
                "while reading output java.io.UncheckedIOException: java.io.IOException: Stream"
                    + " closed"))
        .isTrue();
    assertThat(ServerOutput.isShutdownNoise("[ERR] could not start JetStream")).isFalse();
  }
}
