package dev.sluice.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Shared plumbing of every command: global options, output, the connection. */
abstract class BaseCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  SluiceCli root() {
    return (SluiceCli) spec.root().userObject();
  }

  boolean json() {
    return root().json;
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  void printJson(Object value) {
    out().println(Json.write(value));
    out().flush();
  }

  @Override
  public final Integer call() throws Exception {
    try (Connect.Session s = root().connect().open()) {
      try {
        return run(s);
      } catch (Exception e) {
        // A refused request only times out; the connection's last error says why.
        String last = s.nc.getLastError();
        if (last != null
            && last.contains("Permissions Violation")
            && !(e instanceof CliException)) {
          throw new CliException(
              ExitCodes.CONNECT,
              "permission denied: "
                  + last.trim()
                  + ": this user lacks the subjects of 'sluice permissions --role operator --queue"
                  + " Q'",
              e);
        }
        throw e;
      }
    }
  }

  abstract int run(Connect.Session s) throws Exception;

  /** The named queue (checked to exist) or every queue. */
  static List<String> queues(Connect.Session s, String queue) throws Exception {
    if (queue != null) {
      return new ArrayList<>(List.of(queue));
    }
    return s.queues();
  }
}
