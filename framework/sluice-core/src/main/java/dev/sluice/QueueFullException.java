package dev.sluice;

/**
 * The work stream refused a message because it holds its hard limit ({@code max_msgs} with {@code
 * discard: new}). Nothing was stored; try again once the workers have drained some of the backlog.
 */
public final class QueueFullException extends SluiceException {
  private static final long serialVersionUID = 1L;

  private final String queue;

  /** An exception for {@code queue}, with the server's refusal as the cause. */
  public QueueFullException(String queue, String message, Throwable cause) {
    super(message, cause);
    this.queue = queue;
  }

  /** The queue whose work stream is full. */
  public String queue() {
    return queue;
  }
}
