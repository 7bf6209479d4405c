package dev.sluice;

/**
 * The queue does not exist on the server: it has no work stream. The message names the queue, the
 * stream and how to create it ({@link Sluice#provision(QueueSpec)} or {@code sluice apply}).
 */
public final class QueueNotFoundException extends SluiceException {
  private static final long serialVersionUID = 1L;

  /** The queue that was asked for. */
  private final String queue;

  /** An exception for {@code queue} with the given message. */
  public QueueNotFoundException(String queue, String message) {
    super(message);
    this.queue = queue;
  }

  /** The name of the queue that does not exist. */
  public String queue() {
    return queue;
  }
}
