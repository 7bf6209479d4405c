package dev.sluice.jackson;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sluice.spi.Codec;
import java.io.IOException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A {@link Codec} that writes and reads JSON with Jackson: records, POJOs and generic types, at one
 * {@code Sluice-Type} and schema version, with {@code Content-Type: application/json}.
 *
 * <pre>{@code
 * record Order(String orderId, List<Line> items) {}
 *
 * Codec<Order> ORDER = JsonCodec.of("acme.Order", 1, Order.class);
 * worker.handle(ORDER, (order, ctx) -> ship(order));
 * producer.send(OutgoingMessage.of(ORDER, new Order("ord-1", List.of())));
 * }</pre>
 *
 * <p>Decoding ignores fields the Java type does not know, as protobuf does (a producer may add a
 * field without a new version), and reads a missing object field as null. A primitive field that is
 * missing or null, a JSON {@code null} payload, a value of the wrong shape and text after the JSON
 * value are errors (declare {@code Integer} rather than {@code int} for a field that may be
 * absent). Bytes that fail to decode throw a {@link JsonDecodeException} that names the type, the
 * field path and the position, so the worker dead-letters the message with reason {@code
 * decode-error} and that text as its error, without retrying it. Pass your own {@link ObjectMapper}
 * to change any of this.
 *
 * <p>Encoding throws {@link IllegalArgumentException} for a value Jackson cannot write (the send
 * then fails before anything is published).
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the payload's Java type
 */
public final class JsonCodec<T> implements Codec<T> {
  /** The {@code Content-Type} of every JSON payload. */
  public static final String CONTENT_TYPE = "application/json";

  private static final ObjectMapper DEFAULT_MAPPER = defaultMapper();

  private final String type;
  private final int version;
  private final JavaType javaType;
  private final ObjectReader reader;
  private final ObjectWriter writer;

  private JsonCodec(String type, int version, ObjectMapper mapper, JavaType javaType) {
    this.type = Objects.requireNonNull(type, "type");
    if (version < 1) {
      throw new IllegalArgumentException("version " + version + " < 1");
    }
    this.version = version;
    this.javaType = javaType;
    this.reader = mapper.readerFor(javaType);
    this.writer = mapper.writerFor(javaType);
  }

  /** A codec for {@code javaType} with Sluice's default mapper (see the class comment). */
  public static <T> JsonCodec<T> of(String type, int version, Class<T> javaType) {
    return of(type, version, javaType, DEFAULT_MAPPER);
  }

  /** A codec for {@code javaType} with your mapper (modules, naming strategy, features). */
  public static <T> JsonCodec<T> of(
      String type, int version, Class<T> javaType, ObjectMapper mapper) {
    Objects.requireNonNull(javaType, "javaType");
    Objects.requireNonNull(mapper, "mapper");
    return new JsonCodec<>(type, version, mapper, mapper.constructType(javaType));
  }

  /**
   * A codec for a generic type, e.g. {@code new TypeReference<List<Order>>() {}}, with the default
   * mapper.
   */
  public static <T> JsonCodec<T> of(String type, int version, TypeReference<T> javaType) {
    return of(type, version, javaType, DEFAULT_MAPPER);
  }

  /** A codec for a generic type with your mapper. */
  public static <T> JsonCodec<T> of(
      String type, int version, TypeReference<T> javaType, ObjectMapper mapper) {
    Objects.requireNonNull(javaType, "javaType");
    Objects.requireNonNull(mapper, "mapper");
    return new JsonCodec<>(type, version, mapper, mapper.constructType(javaType));
  }

  /**
   * The mapper the codecs use when you pass none: Jackson's defaults, modules found on the class
   * path (for instance {@code jackson-datatype-jsr310} for {@code java.time}), unknown properties
   * ignored, null for primitives and trailing text refused. A copy: changing it changes no codec.
   */
  public static ObjectMapper defaultMapper() {
    return JsonMapper.builder()
        .findAndAddModules()
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();
  }

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
    return CONTENT_TYPE;
  }

  /** The Java type this codec reads and writes. */
  public JavaType javaType() {
    return javaType;
  }

  /**
   * The value as UTF-8 JSON.
   *
   * @throws IllegalArgumentException if Jackson cannot write the value (the cause says why)
   */
  @Override
  public byte[] encode(T value) {
    try {
      return writer.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot write " + describe() + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * The value the JSON bytes describe.
   *
   * @throws JsonDecodeException for bytes that are not JSON or do not fit the Java type
   */
  @Override
  public T decode(byte[] bytes) throws JsonDecodeException {
    T value;
    try {
      value = reader.readValue(bytes);
    } catch (JsonProcessingException e) {
      throw new JsonDecodeException(describe() + ": " + explain(e), e);
    } catch (IOException e) {
      throw new JsonDecodeException(describe() + ": " + e.getMessage(), e);
    }
    if (value == null) {
      throw new JsonDecodeException(describe() + ": the payload is empty or JSON null", null);
    }
    return value;
  }

  private String describe() {
    return type + " v" + version + " (" + javaType.toCanonical() + ")";
  }

  /** What failed, where in the document (field path) and where in the text (line, column). */
  private static String explain(JsonProcessingException e) {
    StringBuilder s = new StringBuilder(firstLine(e.getOriginalMessage()));
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      s.append(" at ").append(path(m));
    }
    JsonLocation at = e.getLocation();
    if (at != null && at.getLineNr() > 0) {
      s.append(" (line ").append(at.getLineNr()).append(", column ");
      s.append(at.getColumnNr()).append(')');
    }
    return s.toString();
  }

  private static String path(JsonMappingException m) {
    StringBuilder p = new StringBuilder("$");
    for (JsonMappingException.Reference r : m.getPath()) {
      if (r.getFieldName() != null) {
        p.append('.').append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        p.append('[').append(r.getIndex()).append(']');
      }
    }
    return p.toString();
  }

  /** Jackson's message, first line only, without the note on the redacted source. */
  private static String firstLine(String message) {
    if (message == null) {
      return "malformed JSON";
    }
    int nl = message.indexOf('\n');
    String line = nl < 0 ? message : message.substring(0, nl);
    return REDACTED_SOURCE.matcher(line).replaceAll("[");
  }

  private static final Pattern REDACTED_SOURCE = Pattern.compile("\\[Source: [^;\\]]*; ");

  @Override
  public String toString() {
    return "JsonCodec[" + type + "@" + version + ", " + javaType.toCanonical() + "]";
  }
}
