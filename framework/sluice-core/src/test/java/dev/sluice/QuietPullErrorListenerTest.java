package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.JetStreamSubscription;
import io.nats.client.support.Status;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pure logic: which events reach the wrapped listener. */
class QuietPullErrorListenerTest {
  /** Records what reaches it. */
  static final class Recording implements ErrorListener {
    final List<String> seen = new ArrayList<>();

    @Override
    public void pullStatusWarning(Connection conn, JetStreamSubscription sub, Status status) {
      seen.add("warning " + status.getCode());
    }

    @Override
    public void pullStatusError(Connection conn, JetStreamSubscription sub, Status status) {
      seen.add("error " + status.getCode());
    }

    @Override
    public void errorOccurred(Connection conn, String error) {
      seen.add("errorOccurred " + error);
    }

    @Override
    public void socketWriteTimeout(Connection conn) {
      seen.add("socketWriteTimeout");
    }
  }

  @Test
  void dropsOnlyExpiredPullWarnings() {
    Recording app = new Recording();
    QuietPullErrorListener quiet = new QuietPullErrorListener(app);

    quiet.pullStatusWarning(null, null, new Status(408, "Request Timeout"));
    quiet.pullStatusWarning(null, null, new Status(409, "Exceeded MaxWaiting"));
    quiet.pullStatusError(null, null, new Status(408, "Request Timeout"));
    quiet.errorOccurred(null, "Permissions Violation");
    quiet.socketWriteTimeout(null);

    // Were it to drop more than the 408 warning, an application would miss a permissions
    // violation or a consumer problem; were it to drop less, idle queues would flood the log.
    assertThat(app.seen)
        .containsExactly(
            "warning 409",
            "error 408",
            "errorOccurred Permissions Violation",
            "socketWriteTimeout");
  }
}
