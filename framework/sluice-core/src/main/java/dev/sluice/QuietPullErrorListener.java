package dev.sluice;

import io.nats.client.Connection;
import io.nats.client.Consumer;
import io.nats.client.ErrorListener;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.impl.ErrorListenerLoggerImpl;
import io.nats.client.support.Status;
import java.util.Objects;

/**
 * A jnats {@link ErrorListener} that passes every event to another listener, except the "408
 * Request Timeout" of an expired pull request. Sluice's workers and producers pull with an expiry,
 * so an idle queue produces one of those per pull; they mean "no message yet", not a problem.
 *
 * <pre>{@code
 * Nats.connect(Options.builder().server(url).errorListener(new QuietPullErrorListener()).build());
 * }</pre>
 *
 * <p>It wraps rather than extends a listener, so an application keeps its own listener (metrics,
 * alerts) and only loses the noise. Thread-safe when the delegate is.
 */
public final class QuietPullErrorListener implements ErrorListener {
  private static final int REQUEST_TIMEOUT = 408;
  private final ErrorListener delegate;

  /** Logs like jnats' default listener, minus expired-pull 408s. */
  public QuietPullErrorListener() {
    this(new ErrorListenerLoggerImpl());
  }

  /**
   * Passes everything but expired-pull 408s to {@code delegate}.
   *
   * @throws NullPointerException when {@code delegate} is null
   */
  public QuietPullErrorListener(ErrorListener delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public void pullStatusWarning(Connection conn, JetStreamSubscription sub, Status status) {
    if (status.getCode() != REQUEST_TIMEOUT) {
      delegate.pullStatusWarning(conn, sub, status);
    }
  }

  @Override
  public void errorOccurred(Connection conn, String error) {
    delegate.errorOccurred(conn, error);
  }

  @Override
  public void exceptionOccurred(Connection conn, Exception exp) {
    delegate.exceptionOccurred(conn, exp);
  }

  @Override
  public void slowConsumerDetected(Connection conn, Consumer consumer) {
    delegate.slowConsumerDetected(conn, consumer);
  }

  @Override
  public void messageDiscarded(Connection conn, Message msg) {
    delegate.messageDiscarded(conn, msg);
  }

  @Override
  public void heartbeatAlarm(
      Connection conn,
      JetStreamSubscription sub,
      long lastStreamSequence,
      long lastConsumerSequence) {
    delegate.heartbeatAlarm(conn, sub, lastStreamSequence, lastConsumerSequence);
  }

  @Override
  public void unhandledStatus(Connection conn, JetStreamSubscription sub, Status status) {
    delegate.unhandledStatus(conn, sub, status);
  }

  @Override
  public void pullStatusError(Connection conn, JetStreamSubscription sub, Status status) {
    delegate.pullStatusError(conn, sub, status);
  }

  @Override
  public void flowControlProcessed(
      Connection conn, JetStreamSubscription sub, String subject, FlowControlSource source) {
    delegate.flowControlProcessed(conn, sub, subject, source);
  }

  @Override
  public void socketWriteTimeout(Connection conn) {
    delegate.socketWriteTimeout(conn);
  }

  @Override
  public String supplyMessage(
      String label, Connection conn, Consumer consumer, Subscription sub, Object... pairs) {
    return delegate.supplyMessage(label, conn, consumer, sub, pairs);
  }
}
