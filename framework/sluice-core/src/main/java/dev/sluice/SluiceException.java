package dev.sluice;

/** The root of Sluice's unchecked exceptions; messages say what went wrong and what to do. */
public class SluiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SluiceException(String message) {
    super(message);
  }

  public SluiceException(String message, Throwable cause) {
    super(message, cause);
  }
}
