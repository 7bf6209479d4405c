package dev.sluice;

/**
 * No live worker handles the payload type and version a producer is sending (protocol §4.3). The
 * message names the type, the version and what the live workers handle.
 */
public final class UnsupportedVersionException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public UnsupportedVersionException(String message) {
    super(message);
  }
}
