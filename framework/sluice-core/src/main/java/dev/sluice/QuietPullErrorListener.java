package dev.sluice;

import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.JetStreamSubscription;
import io.nats.client.impl.ErrorListenerLoggerImpl;
import io.nats.client.support.Status;

/**
 * A jnats {@link ErrorListener} that logs like jnats' default one, except the "408 Request Timeout"
 * of an expired pull request. Sluice's workers and producers pull with an expiry, so an idle queue
 * produces one of those per pull; they mean "no message yet", not a problem.
 *
 * <pre>{@code
 * Nats.connect(Options.builder().server(url).errorListener(new QuietPullErrorListener()).build());
 * }</pre>
 *
 * <p>Thread-safe.
 */
public class QuietPullErrorListener extends ErrorListenerLoggerImpl {
  private static final int REQUEST_TIMEOUT = 408;

  @Override
  public void pullStatusWarning(Connection conn, JetStreamSubscription sub, Status status) {
    if (status.getCode() != REQUEST_TIMEOUT) {
      super.pullStatusWarning(conn, sub, status);
    }
  }
}
