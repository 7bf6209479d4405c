package dev.sluice.samples.spring;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

/** What became of the orders: the sample's last line. */
public record Summary(long sent, long processed, long lost) {
  /** One line, a space after each colon and comma: {@code {"sent": 3, "processed": 3, ...}}. */
  private static final ObjectWriter ONE_LINE =
      new ObjectMapper()
          .writer(
              new DefaultPrettyPrinter()
                  .withObjectIndenter(new DefaultPrettyPrinter.NopIndenter())
                  .withSeparators(
                      Separators.createDefaultInstance()
                          .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                          .withObjectEntrySpacing(Separators.Spacing.AFTER)));

  public String toJson() {
    try {
      return ONE_LINE.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
