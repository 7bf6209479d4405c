package dev.sluice;

/** What a producer does when no live worker handles the type and version it sends (§4.3). */
public enum VersionPolicy {
  /** Reject the send with {@link UnsupportedVersionException}. The default. */
  FAIL,
  /** Log a warning once per type and version, and send. */
  WARN,
  /** Send silently (for example into a standing buffer ahead of a deploy). */
  ALLOW
}
