package dev.sluice.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * The demo's last JSON line: every field, in the documented order, rounded as docs/DEMO.md shows.
 */
class DemoSummaryJsonTest {
  @Test
  void theSummaryLineHasEveryFieldInOrder() throws Exception {
    DemoSummary s =
        new DemoSummary(
            3000, 2964, 161, 36, 0, 0, 96, 96, 93, 74.04, 551.16, 0, 613, 0, 96, 11.94, 249.6);
    String json = s.toJson();
    assertThat(json)
        .isEqualTo(
            "{\"produced\":3000,\"processed\":2964,\"retried\":161,\"dead_lettered\":36,"
                + "\"duplicates_processed\":0,\"lost\":0,\"max_backlog\":96,\"window\":96,"
                + "\"slack\":93,\"e2e_p50_ms\":74.0,\"e2e_p99_ms\":551.2,\"send_failures\":0,"
                + "\"upcast_v1\":613,\"duplicates_acked\":0,\"credits_at_end\":96,"
                + "\"elapsed_s\":11.9,\"throughput_per_s\":250}");
    JsonNode n = new ObjectMapper().readTree(json);
    assertThat(n.get("throughput_per_s").isIntegralNumber()).isTrue();
  }
}
