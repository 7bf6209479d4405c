package dev.sluice.cli;

import dev.sluice.QueueNotFoundException;
import dev.sluice.TopologyException;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamStatusException;
import java.io.IOException;
import java.util.concurrent.TimeoutException;

/** Maps exceptions escaping a command to one line and an exit code. */
final class Errors {
  private Errors() {}

  static CliException map(Throwable ex) {
    Throwable t = ex;
    while (t.getCause() != null && !(t instanceof JetStreamApiException) && t != t.getCause()) {
      if (t instanceof CliException || t instanceof TopologyException) {
        break;
      }
      t = t.getCause();
    }
    String msg = String.valueOf(t.getMessage());
    if (t instanceof CliException c) {
      return c;
    }
    if (t instanceof QueueNotFoundException) {
      return new CliException(ExitCodes.NOT_FOUND, msg, ex);
    }
    if (msg.contains("No Responders") || msg.contains("503")) {
      return new CliException(
          ExitCodes.CONNECT,
          "JetStream did not answer (no responders): is JetStream enabled on the server and for"
              + " this account?",
          ex);
    }
    if (t instanceof JetStreamApiException api) {
      if (api.getApiErrorCode() == 10039) {
        return new CliException(ExitCodes.CONNECT, "JetStream is not enabled for this account", ex);
      }
      return new CliException(
          ExitCodes.FINDING, "the server refused the request: " + api.getMessage(), ex);
    }
    if (t instanceof TopologyException) {
      // A malformed file is bad input (2); a server refusal is a finding (1).
      boolean refused = t.getCause() instanceof JetStreamApiException;
      return new CliException(refused ? ExitCodes.FINDING : ExitCodes.USAGE, msg, ex);
    }
    if (t instanceof TimeoutException
        || t instanceof JetStreamStatusException
        || t instanceof IOException) {
      return new CliException(
          ExitCodes.CONNECT,
          "request to the server failed: " + msg + " (is the server up? try --timeout 10s)",
          ex);
    }
    if (t instanceof IllegalArgumentException) {
      return new CliException(ExitCodes.USAGE, msg, ex);
    }
    return new CliException(
        ExitCodes.FINDING,
        "unexpected error: "
            + t.getClass().getSimpleName()
            + ": "
            + msg
            + " (rerun with --verbose)",
        ex);
  }
}
