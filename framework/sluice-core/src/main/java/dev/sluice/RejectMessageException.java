package dev.sluice;

/**
 * Thrown by a handler for a message that can never succeed: it is dead-lettered at once with reason
 * {@code rejected}, without retries. Any other exception is retried.
 */
public class RejectMessageException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public RejectMessageException(String message) {
    super(message);
  }

  public RejectMessageException(String message, Throwable cause) {
    super(message, cause);
  }
}
