package dev.sluice;

/**
 * The queue's JetStream topology is missing, malformed or cannot be changed as asked. The message
 * names the file, object and field concerned.
 */
public final class TopologyException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public TopologyException(String message) {
    super(message);
  }

  public TopologyException(String message, Throwable cause) {
    super(message, cause);
  }
}
