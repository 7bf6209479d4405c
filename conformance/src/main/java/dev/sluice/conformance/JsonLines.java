package dev.sluice.conformance;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON lines as the peers' contract uses them: one compact JSON object per line, parsed strictly (a
 * line with anything after its object is not an event). Thread-safe: one shared, unmodified {@link
 * ObjectMapper}.
 */
final class JsonLines {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private JsonLines() {}

  /** A new, empty object to fill with {@code put}. */
  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /**
   * Parses one line that must hold exactly one JSON object; else {@link IllegalArgumentException}.
   */
  static ObjectNode parseObject(String line) {
    JsonNode n;
    try {
      n = MAPPER.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("not one JSON object: " + line);
    }
    return (ObjectNode) n;
  }

  /**
   * Parses UTF-8 bytes that must hold exactly one JSON object; else {@link
   * IllegalArgumentException}.
   */
  static ObjectNode parseObject(byte[] utf8) {
    return parseObject(new String(utf8, java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The compact one-line form of {@code node} (no spaces, keys in insertion order). */
  static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      // A tree of plain nodes always serializes; anything else is a bug here.
      throw new IllegalStateException(e);
    }
  }
}
