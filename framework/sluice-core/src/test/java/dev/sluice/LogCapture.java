package dev.sluice;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

/** What one logger logs while a test runs; detached on close. */
final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final ListAppender<ILoggingEvent> events = new ListAppender<>();

  private LogCapture(String loggerName) {
    this.logger = (Logger) LoggerFactory.getLogger(loggerName);
    events.start();
    logger.addAppender(events);
  }

  /** Starts capturing what the logger {@code loggerName} logs. */
  static LogCapture of(String loggerName) {
    return new LogCapture(loggerName);
  }

  /** Whether a message containing {@code fragment} was logged so far. */
  boolean saw(String fragment) {
    return events.list.stream().anyMatch(e -> e.getFormattedMessage().contains(fragment));
  }

  @Override
  public void close() {
    logger.detachAppender(events);
  }
}
