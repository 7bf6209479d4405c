package dev.sluice.jackson;

/**
 * Bytes that a {@link JsonCodec} cannot turn into its Java type. The message names the payload type
 * and version, the Java type, what failed, the field path ({@code $.items[0].quantity}) and the
 * position in the text; a worker dead-letters such a message with reason {@code decode-error} and
 * this message as the record's error. The payload itself is never quoted.
 */
public final class JsonDecodeException extends Exception {
  private static final long serialVersionUID = 1L;

  JsonDecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
