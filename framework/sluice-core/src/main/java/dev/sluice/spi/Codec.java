package dev.sluice.spi;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Turns one payload type at one schema version into bytes and back. Implementations must be
 * thread-safe; {@link #decode} throws any exception for bytes it cannot read (the message is then
 * dead-lettered with reason {@code decode-error}).
 *
 * @param <T> the payload's Java type
 */
public interface Codec<T> {
  /** The {@code Sluice-Type} this codec reads and writes. */
  String type();

  /** The {@code Sluice-Type-Version} this codec reads and writes. */
  int version();

  /** The {@code Content-Type} of the bytes. */
  String contentType();

  /**
   * The value as bytes.
   *
   * @throws IllegalArgumentException (or another unchecked exception) for a value it cannot write;
   *     the send fails before anything is published
   */
  byte[] encode(T value);

  T decode(byte[] bytes) throws Exception;

  /** A codec for a generated protobuf message. */
  static <M extends MessageLite> Codec<M> protobuf(String type, int version, Parser<M> parser) {
    Objects.requireNonNull(parser, "parser");
    return of(
        type,
        version,
        "application/x-protobuf",
        MessageLite::toByteArray,
        bytes -> {
          try {
            return parser.parseFrom(bytes);
          } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not a valid " + type + ": " + e.getMessage(), e);
          }
        });
  }

  /** Raw bytes, unchanged. */
  static Codec<byte[]> bytes(String type, int version, String contentType) {
    return of(type, version, contentType, b -> b, b -> b);
  }

  /** UTF-8 text. Bytes that are not valid UTF-8 fail to decode. */
  static Codec<String> utf8(String type, int version) {
    return of(
        type,
        version,
        "text/plain; charset=utf-8",
        s -> s.getBytes(StandardCharsets.UTF_8),
        b -> StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString());
  }

  /**
   * A codec from two functions that may both throw: a checked exception from {@code encoder} is
   * rethrown as an {@link IllegalArgumentException} that names the type, one from {@code decoder}
   * dead-letters the message with reason {@code decode-error}. For JSON, {@code
   * dev.sluice:sluice-jackson}'s {@code JsonCodec} is ready-made.
   */
  static <T> Codec<T> of(
      String type,
      int version,
      String contentType,
      ThrowingFunction<T, byte[]> encoder,
      ThrowingFunction<byte[], T> decoder) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(decoder, "decoder");
    if (version < 1) {
      throw new IllegalArgumentException("version " + version + " < 1");
    }
    return new Codec<>() {
      @Override
      public String type() {
        return type;
      }

      @Override
      public int version() {
        return version;
      }

      @Override
      public String contentType() {
        return contentType;
      }

      @Override
      public byte[] encode(T value) {
        try {
          return encoder.apply(value);
        } catch (RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IllegalArgumentException(
              "cannot encode " + type + " v" + version + ": " + e.getMessage(), e);
        }
      }

      @Override
      public T decode(byte[] bytes) throws Exception {
        return decoder.apply(bytes);
      }

      @Override
      public String toString() {
        return "Codec[" + type + "@" + version + ", " + contentType + "]";
      }
    };
  }

  /** A function that may throw. */
  @FunctionalInterface
  interface ThrowingFunction<A, B> {
    B apply(A a) throws Exception;
  }
}
