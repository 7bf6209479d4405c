package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.producer.SizeLimit;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.ReducedRecords;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.impl.Headers;
import io.nats.client.support.JsonValue;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** headers.json: header validation, repeated headers and message sizes (protocol §3). */
class HeaderVectorsTest {
  @Test
  void headers() throws Exception {
    List<JsonValue> cases = load("headers.json").map.get("cases").array;
    assertThat(cases).hasSizeGreaterThan(20);
    for (JsonValue c : cases) {
      String name = c.map.get("name").string;
      HeaderCheck.Result r = HeaderCheck.check(headers(c.map.get("headers")));
      Map<String, JsonValue> expect = c.map.get("expect").map;
      assertThat(r.valid()).as(name).isEqualTo(expect.get("valid").bool);
      if (r.valid()) {
        assertThat(r.protocol()).as(name).isEqualTo(expect.get("protocol").number.intValue());
        assertThat(r.type()).as(name).isEqualTo(expect.get("type").string);
        assertThat(r.version()).as(name).isEqualTo(expect.get("version").number.intValue());
        String tp = headers(c.map.get("headers")).getFirst("traceparent");
        assertThat(TraceContext.parse(tp) != null)
            .as(name)
            .isEqualTo(expect.get("trace_valid").bool);
        boolean newer = r.protocol() > Protocol.VERSION;
        assertThat(newer).as(name).isEqualTo(expect.containsKey("not_handled_reason"));
      } else {
        assertThat(r.reason().code()).as(name).isEqualTo(expect.get("reason").string);
        assertThat(r.header()).as(name).isEqualTo(expect.get("header").string);
      }
    }
  }

  @Test
  void repeatedHeaders() throws Exception {
    List<JsonValue> cases = load("headers.json").map.get("repeated").array;
    assertThat(cases).isNotEmpty();
    for (JsonValue c : cases) {
      String name = c.map.get("name").string;
      Headers h = new Headers();
      for (JsonValue pair : c.map.get("headers").array) {
        h.add(pair.array.get(0).string, pair.array.get(1).string);
      }
      HeaderCheck.Result r = HeaderCheck.check(h);
      Map<String, JsonValue> expect = c.map.get("expect").map;
      assertThat(r.valid()).as(name).isEqualTo(expect.get("valid").bool);
      if (r.valid()) {
        assertThat(r.protocol()).as(name).isEqualTo(expect.get("protocol").number.intValue());
        assertThat(r.type()).as(name).isEqualTo(expect.get("type").string);
        assertThat(r.version()).as(name).isEqualTo(expect.get("version").number.intValue());
      } else {
        assertThat(r.reason().code()).as(name).isEqualTo(expect.get("reason").string);
        assertThat(r.header()).as(name).isEqualTo(expect.get("header").string);
      }
    }
  }

  @Test
  void messageSizes() throws Exception {
    for (JsonValue c : load("headers.json").map.get("message_size").array) {
      long size = ReducedRecords.size(headers(c.map.get("headers")));
      assertThat(size)
          .as(c.map.get("name").string)
          .isEqualTo(c.map.get("header_size").number.longValue());
      SizeLimit limit =
          new SizeLimit("SLUICE_Q_v", c.map.get("max_msg_size").number.longValue(), 1 << 20);
      assertThat(limit.fits(size, c.map.get("payload_length").number.longValue()))
          .as(c.map.get("name").string)
          .isEqualTo(c.map.get("fits").bool);
    }
  }

  /** The test method {@code headers()} hides the shared helper of the same name. */
  private static Headers headers(JsonValue v) {
    return Vectors.headers(v);
  }
}
