package dev.sluice.internal;

import io.nats.client.impl.Headers;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Loads the golden vectors in protocol/vectors for the {@code *VectorsTest} classes, which run them
 * against the Java implementation. A vector the Java code disagrees with fails the build: either
 * the code or the vector (and so the spec) is wrong.
 */
final class Vectors {
  private Vectors() {}

  static Path dir() throws URISyntaxException {
    return Path.of(Vectors.class.getResource("/vectors/headers.json").toURI()).getParent();
  }

  static JsonValue load(String name) throws Exception {
    return JsonParser.parse(Files.readString(dir().resolve(name)));
  }

  static Headers headers(JsonValue v) {
    Headers h = new Headers();
    for (var e : v.map.entrySet()) {
      h.put(e.getKey(), e.getValue().string);
    }
    return h;
  }

  static Map<String, String> asMap(Headers h) {
    Map<String, String> m = new TreeMap<>();
    for (String k : h.keySet()) {
      m.put(k, h.getFirst(k));
    }
    return m;
  }
}
