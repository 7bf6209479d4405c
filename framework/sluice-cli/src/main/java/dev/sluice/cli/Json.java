package dev.sluice.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** The CLI's {@code --json} output: Jackson, one compact document per line. */
final class Json {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().registerModule(new SimpleModule().addSerializer(new WholeDoubles()));

  private Json() {}

  /** An insertion-ordered map for building an object: keys print in the order they were put. */
  static Map<String, Object> obj() {
    return new LinkedHashMap<>();
  }

  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes a whole double as an integer ({@code 0}, not {@code 0.0}) and a non-finite one as null,
   * as the CLI's documents always have: scripts compare these numbers as text.
   */
  private static final class WholeDoubles extends StdSerializer<Double> {
    private static final long serialVersionUID = 1L;

    WholeDoubles() {
      super(Double.class);
    }

    @Override
    public void serialize(Double value, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      double d = value;
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        gen.writeNull();
      } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
        gen.writeNumber((long) d);
      } else {
        gen.writeNumber(d);
      }
    }
  }
}
