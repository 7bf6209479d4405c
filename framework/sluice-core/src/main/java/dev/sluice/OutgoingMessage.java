package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.NUID;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message to send: payload type, schema version, bytes, and optional id, headers and trace.
 * Immutable; build with {@link #builder(String, int, byte[])} or {@link #of(Codec, Object)}.
 */
public final class OutgoingMessage {
  private final String type;
  private final int version;
  private final byte[] payload;
  private final String contentType;
  private final String messageId;
  private final String traceparent;
  private final String tracestate;
  private final Map<String, String> headers;

  private OutgoingMessage(Builder b) {
    this.type = b.type;
    this.version = b.version;
    this.payload = b.payload;
    this.contentType = b.contentType;
    // NUID: unique without SecureRandom on the send path (22 characters, [0-9A-Za-z]).
    this.messageId = b.messageId != null ? b.messageId : NUID.nextGlobal();
    this.traceparent = b.traceparent;
    this.tracestate = b.tracestate;
    this.headers = Map.copyOf(b.headers);
  }

  /** A message of the codec's type and version, encoded by the codec. */
  public static <T> OutgoingMessage of(Codec<T> codec, T value) {
    return builder(codec.type(), codec.version(), codec.encode(value))
        .contentType(codec.contentType())
        .build();
  }

  /** A builder for a message of {@code type} at schema {@code version}. */
  public static Builder builder(String type, int version, byte[] payload) {
    return new Builder(type, version, payload);
  }

  public String type() {
    return type;
  }

  public int version() {
    return version;
  }

  public byte[] payload() {
    return payload;
  }

  public String contentType() {
    return contentType;
  }

  /** The {@code Nats-Msg-Id}: de-duplication id and idempotency key (default: a NUID). */
  public String messageId() {
    return messageId;
  }

  /** The W3C traceparent to send, or null to start a new trace. */
  public String traceparent() {
    return traceparent;
  }

  public String tracestate() {
    return tracestate;
  }

  /** Extra application headers. */
  public Map<String, String> headers() {
    return headers;
  }

  /** Builds an {@link OutgoingMessage}; not thread-safe. */
  public static final class Builder {
    private final String type;
    private final int version;
    private final byte[] payload;
    private String contentType = "application/x-protobuf";
    private String messageId;
    private String traceparent;
    private String tracestate;
    private final Map<String, String> headers = new LinkedHashMap<>();

    private Builder(String type, int version, byte[] payload) {
      this.type = Objects.requireNonNull(type, "type");
      if (!type.matches("[A-Za-z0-9_./-]{1,256}")) {
        throw new IllegalArgumentException("type '" + type + "' must match [A-Za-z0-9_./-]{1,256}");
      }
      if (version < 1) {
        throw new IllegalArgumentException("version " + version + " < 1");
      }
      this.version = version;
      this.payload = Objects.requireNonNull(payload, "payload");
    }

    public Builder contentType(String contentType) {
      this.contentType = Objects.requireNonNull(contentType, "contentType");
      return this;
    }

    /** Sets the message id: 1–128 printable ASCII characters, no spaces. */
    public Builder messageId(String messageId) {
      if (messageId == null || !messageId.matches("[\\x21-\\x7e]{1,128}")) {
        throw new IllegalArgumentException(
            "messageId '" + messageId + "' must be 1-128 printable ASCII characters");
      }
      this.messageId = messageId;
      return this;
    }

    /** Continues the given W3C trace instead of starting a new one. */
    public Builder traceparent(String traceparent) {
      this.traceparent = traceparent;
      return this;
    }

    public Builder tracestate(String tracestate) {
      this.tracestate = tracestate;
      return this;
    }

    /**
     * Adds an application header; names starting with {@code Sluice-} or {@code Nats-} are
     * reserved.
     */
    public Builder header(String name, String value) {
      if (name.startsWith("Sluice-") || name.startsWith("Nats-")) {
        throw new IllegalArgumentException("header " + name + " is reserved");
      }
      headers.put(name, value);
      return this;
    }

    public OutgoingMessage build() {
      return new OutgoingMessage(this);
    }
  }
}
