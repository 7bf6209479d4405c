package dev.sluice.internal.nats;

import dev.sluice.SluiceException;
import io.nats.client.JetStreamApiException;
import java.io.IOException;

/** The errors a producer or worker reports when it cannot start on a queue. */
public final class StartupErrors {
  private StartupErrors() {}

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
