package dev.sluice;

/**
 * Why a message was dead-lettered (protocol §8.1). The {@link #code()} travels in the {@code
 * Sluice-Dlq-Reason} header and is the same in every language.
 */
public enum DeadLetterReason {
  /** A required header was absent or empty. */
  MISSING_HEADER("missing-header"),
  /** A required header was present but malformed. */
  BAD_HEADER("bad-header"),
  /** The payload was larger than the worker's limit. */
  OVERSIZE("oversize"),
  /** Delivered more often than the worker allows (repeated ack timeouts). */
  MAX_DELIVERIES("max-deliveries"),
  /** No worker handled the payload type within the grace period. */
  UNKNOWN_TYPE("unknown-type"),
  /** No worker handled the payload version within the grace period. */
  UNSUPPORTED_VERSION("unsupported-version"),
  /** No worker handled the protocol version within the grace period. */
  UNSUPPORTED_PROTOCOL("unsupported-protocol"),
  /** The payload could not be decoded. */
  DECODE_ERROR("decode-error"),
  /** The handler rejected the message as permanently bad. */
  REJECTED("rejected"),
  /** The handler failed on every allowed attempt. */
  MAX_ATTEMPTS("max-attempts");

  private final String code;

  DeadLetterReason(String code) {
    this.code = code;
  }

  /** The wire code, e.g. {@code max-attempts}. */
  public String code() {
    return code;
  }

  /** The reason with the given wire code. */
  public static DeadLetterReason fromCode(String code) {
    for (DeadLetterReason r : values()) {
      if (r.code.equals(code)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown dead-letter reason code '" + code + "'");
  }
}
