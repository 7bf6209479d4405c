package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The byte shape of the CLI's JSON, which scripts read as text. */
class JsonTest {
  @Test
  void writesCompactOrderedJsonWithWholeDoublesAsIntegers() {
    Map<String, Object> m = Json.obj();
    m.put("queue", "orders");
    m.put("rate", 0.0);
    m.put("p99", 12.5);
    m.put("nan", Double.NaN);
    m.put("missing", null);
    m.put("live", true);
    m.put("count", 3L);
    m.put("text", "a\"b\n");
    m.put("list", new ArrayList<>(Arrays.asList("x", 1)));
    m.put("values", List.of(List.of("v1", "v2")));
    // Keys keep insertion order and 0.0 prints as 0: a changed shape would break scripts that
    // compare the output as text.
    assertThat(Json.write(m))
        .isEqualTo(
            "{\"queue\":\"orders\",\"rate\":0,\"p99\":12.5,\"nan\":null,\"missing\":null,"
                + "\"live\":true,\"count\":3,\"text\":\"a\\\"b\\n\",\"list\":[\"x\",1],"
                + "\"values\":[[\"v1\",\"v2\"]]}");
  }
}
