package dev.sluice.internal;

import static dev.sluice.internal.Vectors.asMap;
import static dev.sluice.internal.Vectors.headers;
import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.DeadLetterReason;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.ReducedRecords;
import io.nats.client.impl.Headers;
import io.nats.client.support.JsonValue;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** dlq.json and dlq_reduced.json: dead-letter records, replays and reduced records (§8). */
class DeadLetterVectorsTest {
  @Test
  void deadLetters() throws Exception {
    Map<String, JsonValue> v = load("dlq.json").map;
    List<String> reasons = v.get("reasons").array.stream().map(x -> x.string).toList();
    assertThat(Stream.of(DeadLetterReason.values()).map(DeadLetterReason::code).toList())
        .containsExactlyInAnyOrderElementsOf(reasons);
    for (JsonValue c : v.get("records").array) {
      Map<String, JsonValue> m = c.map;
      Headers h =
          DeadLetters.recordHeaders(
              headers(m.get("original_headers")),
              m.get("stream").string,
              m.get("stream_seq").number.longValue(),
              m.get("subject").string,
              m.get("delivery_count").number.longValue(),
              m.get("worker_id").string,
              m.get("at_unix_ms").number.longValue(),
              DeadLetterReason.fromCode(m.get("reason").string),
              m.get("error").string);
      assertThat(asMap(h))
          .as(m.get("name").string)
          .isEqualTo(asMap(headers(m.get("record_headers"))));
      assertThat(Protocol.dlqSubject(m.get("queue").string))
          .isEqualTo(m.get("record_subject").string);
    }
    for (JsonValue c : v.get("replays").array) {
      Map<String, JsonValue> m = c.map;
      Headers h =
          DeadLetters.replayHeaders(
              headers(m.get("record_headers")), m.get("dlq_stream_seq").number.longValue());
      assertThat(asMap(h)).isEqualTo(asMap(headers(m.get("replay_headers"))));
    }
    assertThat(DeadLetters.MAX_ERROR_CHARS).isEqualTo(v.get("error_max_chars").number.intValue());
  }

  /**
   * §8.4: which headers are dropped, in which order, where the payload is cut and with which length
   * and digest. Without it a Java worker could publish a record the server refuses (and NAK it
   * forever) or cut differently from the Go and Rust peers.
   */
  @Test
  void reducedDeadLetters() throws Exception {
    Map<String, JsonValue> v = load("dlq_reduced.json").map;
    assertThat(ReducedRecords.HEADER_LIMIT).isEqualTo(v.get("header_limit").number.intValue());
    assertThat(ReducedRecords.DROPPED_LIST_MAX_CHARS)
        .isEqualTo(v.get("dropped_list_max_chars").number.intValue());
    List<JsonValue> cases = v.get("cases").array;
    assertThat(cases).hasSizeGreaterThanOrEqualTo(8);
    for (JsonValue c : cases) {
      Map<String, JsonValue> m = c.map;
      String name = m.get("name").string;
      Headers record = headers(m.get("record_headers"));
      for (Map.Entry<String, JsonValue> f : m.get("record_header_fills").map.entrySet()) {
        record.put(
            f.getKey(),
            fill(
                f.getValue().map.get("pattern").string,
                f.getValue().map.get("length").number.intValue()));
      }
      byte[] payload =
          fill(m.get("payload_pattern").string, m.get("payload_length").number.intValue())
              .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      assertThat(ReducedRecords.size(record))
          .as(name)
          .isEqualTo(m.get("header_size").number.longValue());
      assertThat(ReducedRecords.sha256(payload)).as(name).isEqualTo(m.get("payload_sha256").string);

      ReducedRecords.Reduced r =
          ReducedRecords.reduce(record, payload, m.get("max_payload").number.longValue());

      assertThat(r.dropped())
          .as(name)
          .containsExactlyElementsOf(
              m.get("dropped_headers").array.stream().map(x -> x.string).toList());
      assertThat(new TreeMap<>(asMap(r.headers())).keySet())
          .as(name)
          .containsExactlyElementsOf(
              m.get("published_header_names").array.stream().map(x -> x.string).toList());
      Map<String, String> published = asMap(headers(m.get("published_headers")));
      assertThat(asMap(r.headers())).as(name).containsAllEntriesOf(published);
      assertThat(ReducedRecords.size(r.headers()))
          .as(name)
          .isEqualTo(m.get("published_header_size").number.longValue());
      assertThat(r.payload().length)
          .as(name)
          .isEqualTo(m.get("published_payload_length").number.intValue());
      assertThat(ReducedRecords.sha256(r.payload()))
          .as(name)
          .isEqualTo(m.get("published_payload_sha256").string);
    }
  }

  private static String fill(String pattern, int length) {
    return pattern.repeat(length / pattern.length() + 1).substring(0, length);
  }
}
