package dev.sluice.cli.console;

/**
 * A failed API call: the HTTP status, the CLI's exit code for the same failure and a message that
 * says what to do. The API answers it as {@code {"error", "exit_code", "exit_meaning"}}, the shape
 * of the CLI's {@code --json} errors.
 */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final int exitCode;
  private final String body;

  public ApiException(int status, int exitCode, String message) {
    this(status, exitCode, message, null);
  }

  /** A failure whose answer is a whole document ({@code body}), not just the error object. */
  public ApiException(int status, int exitCode, String message, String body) {
    super(message);
    this.status = status;
    this.exitCode = exitCode;
    this.body = body;
  }

  public int status() {
    return status;
  }

  public int exitCode() {
    return exitCode;
  }

  /** The document to answer with instead of the error object, or null. */
  public String body() {
    return body;
  }
}
