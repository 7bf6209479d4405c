package dev.sluice;

/** A send waited longer than the acquire timeout for a credit. {@link #reason()} says why. */
public final class CreditTimeoutException extends SluiceException {
  private static final long serialVersionUID = 1L;

  /** Why no credit came. */
  public enum Reason {
    /** No live worker advertises capacity for the queue, and no standing buffer covers it. */
    NO_LIVE_WORKERS,
    /** Workers are live, but every credit of the window is in the backlog or held. */
    ALL_CREDITS_IN_USE,
    /** The work stream is at its hard limit ({@code max_msgs}). */
    STREAM_AT_HARD_LIMIT
  }

  private final Reason reason;

  public CreditTimeoutException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
