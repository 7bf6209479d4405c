package dev.sluice.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * One JSON object per line on a stream: the output of the example's programs, which the polyglot
 * demo reads. Thread-safe: each line is written and flushed whole.
 */
public final class JsonLines {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final PrintStream out;

  public JsonLines(PrintStream out) {
    this.out = out;
  }

  /** Writes {@code fields} (in their iteration order) as one line. */
  public void emit(Map<String, ?> fields) {
    String line;
    try {
      line = JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
