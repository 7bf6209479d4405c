package dev.sluice.testkit;

import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waits in tests for a Sluice queue's work to be done, by reading its work stream {@code
 * SLUICE_Q_<queue>} (PROTOCOL.md §3): a message leaves that stream when a worker acknowledges it or
 * dead-letters it. Example:
 *
 * <pre>{@code
 * for (int i = 0; i < 100; i++) producer.send(OutgoingMessage.of(codec, "job-" + i));
 * QueueAwait.processed(nc, "orders", 100, Duration.ofSeconds(30));
 * QueueAwait.drained(nc, "orders", Duration.ofSeconds(5));
 * }</pre>
 *
 * <p>"Processed" counts the messages that left the stream since it was created, so a test that
 * purges the stream counts the purged ones too.
 */
public final class QueueAwait {
  private static final Duration POLL = Duration.ofMillis(50);

  private QueueAwait() {}

  /**
   * Returns once the queue's work stream stores no message (everything sent was acknowledged or
   * dead-lettered).
   *
   * @throws AssertionError after {@code timeout}, with how many messages are still stored
   */
  public static void drained(Connection nc, String queue, Duration timeout) {
    awaitState(
        nc,
        queue,
        timeout,
        s -> s.getMsgCount() == 0,
        s -> "queue " + queue + " not drained within " + timeout + ": " + describe(s));
  }

  /**
   * Returns once at least {@code count} messages have left the queue's work stream (acknowledged or
   * dead-lettered by workers).
   *
   * @throws AssertionError after {@code timeout}, with how many have left so far
   */
  public static void processed(Connection nc, String queue, long count, Duration timeout) {
    awaitState(
        nc,
        queue,
        timeout,
        s -> finished(s) >= count,
        s ->
            "queue "
                + queue
                + ": "
                + finished(s)
                + " of "
                + count
                + " messages processed within "
                + timeout
                + "; "
                + describe(s));
  }

  /** Messages that left the stream: every sequence assigned minus those still stored. */
  static long finished(StreamState s) {
    return s.getLastSequence() - s.getMsgCount();
  }

  private static String describe(StreamState s) {
    return s.getMsgCount()
        + " messages still stored (is a worker running and handling their type?)";
  }

  private interface Check {
    boolean test(StreamState s);
  }

  private interface Describe {
    String text(StreamState s);
  }

  private static void awaitState(
      Connection nc, String queue, Duration timeout, Check done, Describe failure) {
    JetStreamManagement jsm;
    try {
      jsm = nc.jetStreamManagement();
    } catch (IOException e) {
      throw new UncheckedIOException("JetStream is not available on " + nc.getConnectedUrl(), e);
    }
    String stream = "SLUICE_Q_" + queue;
    AtomicReference<StreamState> last = new AtomicReference<>();
    try {
      await()
          .atMost(timeout)
          .pollDelay(Duration.ZERO)
          .pollInterval(POLL)
          .ignoreExceptionsMatching(e -> e instanceof IOException)
          .until(
              () -> {
                StreamState s = state(jsm, stream, queue);
                last.set(s);
                return done.test(s);
              });
    } catch (ConditionTimeoutException e) {
      StreamState s = last.get();
      throw new AssertionError(
          s == null ? "queue " + queue + ": no reading within " + timeout : failure.text(s), e);
    }
  }

  private static StreamState state(JetStreamManagement jsm, String stream, String queue)
      throws IOException {
    try {
      return jsm.getStreamInfo(stream).getStreamState();
    } catch (JetStreamApiException e) {
      throw new AssertionError(
          "queue "
              + queue
              + " has no work stream "
              + stream
              + " ("
              + e.getMessage()
              + "): provision it first (Sluice.provision or sluice apply)",
          e);
    }
  }
}
