package dev.sluice;

import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.spi.Codec;
import io.nats.client.NUID;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message to send: payload type, schema version, bytes, and optional id, headers and trace.
 * Immutable and thread-safe: {@link #builder(String, int, byte[])} copies the caller's byte array
 * (so the caller may reuse its buffer at once) and {@link #payload()} returns a copy. Build with
 * {@link #builder(String, int, byte[])} or {@link #of(Codec, Object)}.
 */
public final class OutgoingMessage {
  private final String type;
  private final int version;
  private final byte[] payload;
  private final String contentType;
  private final String messageId;
  private final String traceparent;
  private final String tracestate;
  private final String fairnessKey;
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
    this.fairnessKey = b.fairnessKey;
    this.headers = Map.copyOf(b.headers);
  }

  /** A message of the codec's type and version, encoded by the codec. */
  public static <T> OutgoingMessage of(Codec<T> codec, T value) {
    // The codec's array is fresh and no one else holds it: no copy needed.
    return new Builder(codec.type(), codec.version(), codec.encode(value))
        .contentType(codec.contentType())
        .build();
  }

  /**
   * A builder for a message of {@code type} at schema {@code version} with a copy of {@code
   * payload}.
   *
   * @throws NullPointerException {@code type} or {@code payload} is null
   * @throws IllegalArgumentException {@code type} does not match {@code [A-Za-z0-9_./-]{1,256}}, or
   *     {@code version < 1}
   */
  public static Builder builder(String type, int version, byte[] payload) {
    return new Builder(type, version, Objects.requireNonNull(payload, "payload").clone());
  }

  /** The payload type, sent as {@code Sluice-Type}. */
  public String type() {
    return type;
  }

  /** The payload's schema version, sent as {@code Sluice-Type-Version}. */
  public int version() {
    return version;
  }

  /** A copy of the payload bytes. */
  public byte[] payload() {
    return payload.clone();
  }

  /** The payload bytes themselves, for the producer, which never modifies them. */
  byte[] payloadBytes() {
    return payload;
  }

  /** The {@code Content-Type}; default {@code application/x-protobuf}. */
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

  /** The W3C tracestate to send with the trace, or null. */
  public String tracestate() {
    return tracestate;
  }

  /**
   * The fairness key sent as {@code Sluice-Fairness-Key} (protocol §15.3), or null for none: while
   * sends wait for credits, the producer serves keys in weighted fair order.
   */
  public String fairnessKey() {
    return fairnessKey;
  }

  /** Extra application headers (unmodifiable). */
  public Map<String, String> headers() {
    return headers;
  }

  /** Builds an {@link OutgoingMessage}; validates each value as it is set. Not thread-safe. */
  public static final class Builder {
    private final String type;
    private final int version;
    private final byte[] payload;
    private String contentType = "application/x-protobuf";
    private String messageId;
    private String traceparent;
    private String tracestate;
    private String fairnessKey;
    private final Map<String, String> headers = new LinkedHashMap<>();

    private Builder(String type, int version, byte[] payload) {
      this.type = Objects.requireNonNull(type, "type");
      if (!HeaderCheck.typeName(type)) {
        throw new IllegalArgumentException("type '" + type + "' must match [A-Za-z0-9_./-]{1,256}");
      }
      if (version < 1) {
        throw new IllegalArgumentException("version " + version + " < 1");
      }
      this.version = version;
      this.payload = Objects.requireNonNull(payload, "payload");
    }

    /**
     * Sets the {@code Content-Type}; default {@code application/x-protobuf}.
     *
     * @throws NullPointerException {@code contentType} is null
     */
    public Builder contentType(String contentType) {
      this.contentType = Objects.requireNonNull(contentType, "contentType");
      return this;
    }

    /**
     * Sets the message id; default a NUID.
     *
     * @throws IllegalArgumentException {@code messageId} is not 1-128 printable ASCII characters
     *     without spaces
     */
    public Builder messageId(String messageId) {
      if (messageId == null || !HeaderCheck.msgId(messageId)) {
        throw new IllegalArgumentException(
            "messageId '" + messageId + "' must be 1-128 printable ASCII characters");
      }
      this.messageId = messageId;
      return this;
    }

    /**
     * Continues the given W3C trace instead of starting a new one (or the current OpenTelemetry
     * span's, when there is one); default none.
     */
    public Builder traceparent(String traceparent) {
      this.traceparent = traceparent;
      return this;
    }

    /** Sets the W3C tracestate sent with the trace; default none. */
    public Builder tracestate(String tracestate) {
      this.tracestate = tracestate;
      return this;
    }

    /**
     * Sets the fairness key, for example a tenant id; default none. While sends wait for credits, a
     * producer grants them in weighted max-min fair order across keys (weights: {@link
     * QueueProducer.Builder#fairnessWeight} and {@link QueueSpec.Builder#fairnessWeight}), so one
     * key's flood does not delay another key's sends behind it. Sent as {@code
     * Sluice-Fairness-Key}.
     *
     * @throws IllegalArgumentException {@code key} is not 1-64 characters of {@code
     *     [A-Za-z0-9_.:@-]} (map a longer tenant id to a short one, e.g. a hash)
     */
    public Builder fairnessKey(String key) {
      this.fairnessKey = FairnessRules.requireKey("fairnessKey", key);
      return this;
    }

    /**
     * Adds an application header.
     *
     * @throws NullPointerException {@code name} or {@code value} is null
     * @throws IllegalArgumentException {@code name} starts with {@code Sluice-} or {@code Nats-}
     *     (reserved)
     */
    public Builder header(String name, String value) {
      Objects.requireNonNull(name, "header name");
      Objects.requireNonNull(value, "header value");
      if (name.startsWith("Sluice-") || name.startsWith("Nats-")) {
        throw new IllegalArgumentException("header " + name + " is reserved");
      }
      headers.put(name, value);
      return this;
    }

    /** The message; the builder may be reused for another. */
    public OutgoingMessage build() {
      return new OutgoingMessage(this);
    }
  }
}
