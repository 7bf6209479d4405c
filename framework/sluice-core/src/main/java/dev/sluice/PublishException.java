package dev.sluice;

/** A message could not be published (after retries where retrying was safe). */
public final class PublishException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public PublishException(String message, Throwable cause) {
    super(message, cause);
  }
}
