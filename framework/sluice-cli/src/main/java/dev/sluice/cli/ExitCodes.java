package dev.sluice.cli;

/** The CLI's exit codes (docs/CLI.md). */
public final class ExitCodes {
  /** Success; for status and explain: nothing wrong. */
  static final int OK = 0;

  /** A finding: an unhealthy queue, an explained problem, an apply conflict, an internal error. */
  static final int FINDING = 1;

  /** Bad command line or bad input (malformed filter, refused confirmation). */
  static final int USAGE = 2;

  /** Cannot connect to the server, or authentication failed, or JetStream is not enabled. */
  static final int CONNECT = 3;

  /** A queue, dead letter, message or path that does not exist. */
  static final int NOT_FOUND = 4;

  private ExitCodes() {}

  /** The meaning of {@code code} as one short phrase, for {@code --json} errors. */
  static String meaning(int code) {
    return switch (code) {
      case OK -> "ok";
      case FINDING -> "finding";
      case USAGE -> "usage error";
      case CONNECT -> "cannot connect";
      case NOT_FOUND -> "not found";
      default -> "unknown";
    };
  }

  /**
   * The error document of {@code --json} and of the console's API: {@code {"error", "exit_code",
   * "exit_meaning"}}, one shape for both.
   */
  public static java.util.Map<String, Object> errorDocument(String message, int code) {
    java.util.Map<String, Object> e = new java.util.LinkedHashMap<>();
    e.put("error", message);
    e.put("exit_code", code);
    e.put("exit_meaning", meaning(code));
    return e;
  }
}
