package dev.sluice.internal.nats;

import dev.sluice.SluiceException;
import io.nats.client.JetStreamApiException;
import java.io.IOException;

/** The errors a producer or worker reports when it cannot start on a queue. */
public final class StartupErrors {
  private StartupErrors() {}

  /**
   * A clear exception for {@code e}, thrown while {@code role} started on {@code queue}; {@code
   * lastServerError} is the connection's last error, which is the only sign of a request the server
   * refused for permissions (the request itself just times out).
   */
  public static SluiceException of(String queue, String role, Exception e, String lastServerError) {
    if (lastServerError != null && lastServerError.contains("Permissions Violation")) {
      return new SluiceException(
          "permission denied: the server refused the "
              + role
              + " of queue "
              + queue
              + " ("
              + lastServerError.trim()
              + "): give its user the permissions of 'scripts/sluice permissions --role "
              + role
              + " --queue "
              + queue
              + "'",
          e);
    }
    return of(queue, role, e);
  }

  /** A clear exception for {@code e}, thrown while {@code role} started on {@code queue}. */
  public static SluiceException of(String queue, String role, Exception e) {
    if (e instanceof JetStreamApiException) {
      return new SluiceException(
          "queue '"
              + queue
              + "' is not provisioned ("
              + e.getMessage()
              + "): run Sluice.provision(QueueSpec.of(\""
              + queue
              + "\")) or scripts/sluice apply",
          e);
    }
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
      return new SluiceException("interrupted while starting " + role, e);
    }
    if (e instanceof IOException) {
      return new SluiceException("cannot reach JetStream for queue " + queue + ": " + e, e);
    }
    return new SluiceException("cannot start " + role + " on queue " + queue + ": " + e, e);
  }
}
