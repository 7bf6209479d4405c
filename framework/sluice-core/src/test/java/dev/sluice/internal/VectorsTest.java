package dev.sluice.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.sluice.Backoff;
import dev.sluice.DeadLetterReason;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.producer.SizeLimit;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.CreditToken;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.proto.WorkerState;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.IdKeys;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.ReducedRecords;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.impl.Headers;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Runs every golden vector in protocol/vectors against the Java implementation. A vector the Java
 * code disagrees with fails the build: either the code or the vector (and so the spec) is wrong.
 */
class VectorsTest {
  private static final Set<String> COVERED =
      Set.of(
          "backoff.json",
          "credits.json",
          "dlq.json",
          "dlq_reduced.json",
          "headers.json",
          "idempotency.json",
          "outcomes.json",
          "protobuf.json");

  static Path dir() throws URISyntaxException {
    return Path.of(VectorsTest.class.getResource("/vectors/headers.json").toURI()).getParent();
  }

  static JsonValue load(String name) throws Exception {
    return JsonParser.parse(Files.readString(dir().resolve(name)));
  }

  @Test
  void everyVectorFileIsExercised() throws Exception {
    try (Stream<Path> files = Files.list(dir())) {
      Set<String> names =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".json"))
              .collect(Collectors.toSet());
      assertThat(names).isEqualTo(COVERED);
    }
  }

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

  @Test
  void backoff() throws Exception {
    for (JsonValue c : load("backoff.json").map.get("cases").array) {
      Map<String, JsonValue> p = c.map.get("params").map;
      Backoff b =
          Backoff.exponential(
              Duration.ofMillis(p.get("initial_ms").number.longValue()),
              p.get("multiplier").number.doubleValue(),
              Duration.ofMillis(p.get("max_delay_ms").number.longValue()),
              p.get("jitter").number.doubleValue());
      for (JsonValue row : c.map.get("attempts").array) {
        int k = row.map.get("attempt").number.intValue();
        assertThat(b.baseMillis(k))
            .isCloseTo(row.map.get("delay_ms").number.doubleValue(), within(1e-6));
        assertThat(b.delayMillis(k, 0.0))
            .isCloseTo(row.map.get("min_ms").number.doubleValue(), within(1e-6));
        for (JsonValue u : row.map.get("at_u").array) {
          assertThat(b.delayMillis(k, u.map.get("u").number.doubleValue()))
              .isCloseTo(u.map.get("delay_ms").number.doubleValue(), within(1e-6));
          assertThat(b.delay(k, u.map.get("u").number.doubleValue()).toNanos())
              .isEqualTo(u.map.get("delay_ns").number.longValue());
        }
        for (int i = 0; i < 200; i++) {
          double ms = b.delay(k).toNanos() / 1e6;
          assertThat(ms)
              .isBetween(
                  row.map.get("min_ms").number.doubleValue() - 1e-6,
                  row.map.get("max_ms").number.doubleValue() + 1e-6);
        }
      }
    }
  }

  @Test
  void credits() throws Exception {
    Map<String, JsonValue> v = load("credits.json").map;
    for (JsonValue c : v.get("decompose").array) {
      List<Integer> want =
          c.map.get("tokens").array.stream().map(x -> x.number.intValue()).toList();
      assertThat(
              Credits.decompose(
                  c.map.get("credits").number.longValue(), c.map.get("batch").number.intValue()))
          .as(c.toJson())
          .isEqualTo(want);
    }
    for (JsonValue c : v.get("window").array) {
      List<CapacityAdvert> ads = new ArrayList<>();
      for (JsonValue a : c.map.get("adverts").array) {
        ads.add(
            CapacityAdvert.newBuilder()
                .setWorkerId(a.map.get("worker_id").string)
                .setCapacity(a.map.get("capacity").number.intValue())
                .setState(WorkerState.valueOf("WORKER_STATE_" + a.map.get("state").string))
                .setHeartbeatUnixMs(a.map.get("heartbeat_unix_ms").number.longValue())
                .setTtlMs(a.map.get("ttl_ms").number.intValue())
                .build());
      }
      assertThat(
              Window.window(
                  QueueConfig.of(
                      QueueSettings.newBuilder()
                          .setStandingBuffer(c.map.get("standing_buffer").number.intValue())
                          .setMaxWorkerCapacity(intOr(c.map.get("max_worker_capacity")))
                          .setMaxWindow(intOr(c.map.get("max_window")))
                          .build()),
                  ads,
                  c.map.get("now_unix_ms").number.longValue()))
          .as(c.map.get("name").string)
          .isEqualTo(c.map.get("window").number.longValue());
    }
    for (JsonValue c : v.get("reconcile").array) {
      Map<String, JsonValue> m = c.map;
      Credits.Decision d =
          Credits.reconcile(
              m.get("window").number.longValue(),
              m.get("backlog").number.longValue(),
              m.get("tokens").number.longValue(),
              m.get("held_spent").number.longValue(),
              m.get("owed").number.longValue(),
              m.get("previous_deficit").number.longValue());
      assertThat(d.deficit())
          .as(m.get("name").string)
          .isEqualTo(m.get("deficit").number.longValue());
      assertThat(d.action().name().toLowerCase())
          .as(m.get("name").string)
          .isEqualTo(m.get("action").string);
      assertThat(d.credits())
          .as(m.get("name").string)
          .isEqualTo(m.get("credits").number.longValue());
      long burn =
          d.action() == Credits.Action.BURN
              ? Credits.burnAmount(
                  d.credits(),
                  m.get("live_producers").number.intValue(),
                  m.get("token_batch").number.intValue())
              : 0;
      assertThat(burn).as(m.get("name").string).isEqualTo(m.get("burn").number.longValue());
    }
    for (JsonValue c : v.get("linger").array) {
      assertThat(
              Credits.lingerMillis(
                  c.map.get("batch").number.intValue(),
                  c.map.get("service_rate").number.doubleValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("linger_ms").number.longValue());
    }
    for (JsonValue c : v.get("service_rate").array) {
      double rate = 0;
      for (JsonValue beat : c.map.get("heartbeats").array) {
        rate =
            Credits.serviceRate(
                rate,
                beat.map.get("completed").number.longValue(),
                beat.map.get("dt_ms").number.longValue() / 1000.0);
        double want = beat.map.get("service_rate").number.doubleValue();
        assertThat(rate).as(c.map.get("name").string).isCloseTo(want, within(1e-9 * want + 1e-12));
      }
    }
    java.util.regex.Pattern tokenId =
        java.util.regex.Pattern.compile(v.get("token_id_pattern").string);
    for (JsonValue c : v.get("token_ids").array) {
      String id = c.map.get("msg_id").string;
      if (c.map.containsKey("minter_id")) {
        assertThat(
                dev.sluice.internal.credit.TokenMinter.tokenId(
                    c.map.get("minter_id").string,
                    c.map.get("nonce").string,
                    c.map.get("counter").number.longValue()))
            .isEqualTo(id);
      }
      assertThat(tokenId.matcher(id).matches()).as(id).isEqualTo(c.map.get("valid").bool);
    }
    for (JsonValue c : v.get("effective_batch").array) {
      assertThat(
              Credits.effectiveBatch(
                  c.map.get("batch").number.intValue(), c.map.get("capacity").number.intValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("effective_batch").number.intValue());
    }
    for (JsonValue c : v.get("mint_back").array) {
      int token = c.map.get("token").number.intValue();
      int need = c.map.get("need").number.intValue();
      assertThat(Credits.decompose(token - need, c.map.get("batch").number.intValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("mint_back").array.stream().map(x -> x.number.intValue()).toList());
    }
    for (JsonValue c : v.get("names").array) {
      String q = c.map.get("queue").string;
      long n = c.map.get("credits").number.longValue();
      assertThat(Protocol.creditSubject(q, n)).isEqualTo(c.map.get("subject").string);
      assertThat(Credits.tokenValue(Protocol.creditSubject(q, n))).isEqualTo(n);
      assertThat(Protocol.creditConsumer(q)).isEqualTo(c.map.get("consumer").string);
      assertThat(Protocol.workStream(q)).isEqualTo(c.map.get("work_stream").string);
      assertThat(Protocol.workSubject(q)).isEqualTo(c.map.get("work_subject").string);
      assertThat(Protocol.dlqSubject(q)).isEqualTo(c.map.get("dlq_subject").string);
    }
  }

  @Test
  void outcomes() throws Exception {
    List<JsonValue> cases = load("outcomes.json").map.get("cases").array;
    assertThat(cases).hasSizeGreaterThan(15);
    for (JsonValue c : cases) {
      Map<String, JsonValue> m = c.map;
      String name = m.get("name").string;
      Map<String, JsonValue> s = m.get("settings").map;
      Map<String, JsonValue> bo = s.get("backoff").map;
      Backoff backoff =
          Backoff.exponential(
              Duration.ofMillis(bo.get("initial_ms").number.longValue()),
              bo.get("multiplier").number.doubleValue(),
              Duration.ofMillis(bo.get("max_delay_ms").number.longValue()),
              bo.get("jitter").number.doubleValue());
      Classifier.Limits limits =
          new Classifier.Limits(
              s.get("max_attempts").number.intValue(),
              s.get("max_deliveries").number.intValue(),
              Duration.ofMillis(s.get("grace_ms").number.longValue()),
              Duration.ofMillis(s.get("grace_delay_ms").number.longValue()),
              s.get("max_payload_bytes").number.intValue());
      List<JsonValue> handled = m.get("handled").array;
      Classifier.Handles handles =
          new Classifier.Handles() {
            @Override
            public boolean knowsType(String type) {
              return handled.stream().anyMatch(h -> h.map.get("type").string.equals(type));
            }

            @Override
            public boolean handles(String type, int version) {
              return handled.stream()
                  .anyMatch(
                      h ->
                          h.map.get("type").string.equals(type)
                              && h.map.get("min_version").number.intValue() <= version
                              && version <= h.map.get("max_version").number.intValue());
            }
          };
      long k = m.get("delivery_count").number.longValue();
      Classifier.Decision d =
          Classifier.beforeHandler(
              HeaderCheck.check(headers(m.get("headers"))),
              m.get("payload_size").number.intValue(),
              k,
              m.get("age_ms").number.longValue(),
              m.get("processed_before").bool,
              handles,
              new Classifier.Fleet() {
                @Override
                public boolean othersHandle() {
                  return m.containsKey("fleet_handles") && m.get("fleet_handles").bool;
                }

                @Override
                public boolean othersDecline() {
                  return m.containsKey("fleet_declines") && m.get("fleet_declines").bool;
                }
              },
              limits);
      boolean handlerRuns = d instanceof Classifier.Run;
      if (handlerRuns && !m.get("decodes").bool) {
        d = new Classifier.DeadLetter(DeadLetterReason.DECODE_ERROR, "");
        handlerRuns = false;
      } else if (handlerRuns) {
        String r = m.get("handler_result").string;
        d =
            r.equals("success")
                ? new Classifier.AckDuplicate() // stands for "ack" below
                : Classifier.afterFailure(k, r.equals("reject"), "boom", backoff, limits);
      }
      Map<String, JsonValue> e = m.get("expect").map;
      assertThat(handlerRuns).as(name + ": handler runs").isEqualTo(e.get("handler_runs").bool);
      switch (e.get("outcome").string) {
        case "ack" -> assertThat(d).as(name).isInstanceOf(Classifier.AckDuplicate.class);
        case "dlq" -> {
          assertThat(d).as(name).isInstanceOf(Classifier.DeadLetter.class);
          assertThat(((Classifier.DeadLetter) d).reason().code())
              .as(name)
              .isEqualTo(e.get("reason").string);
          if (e.containsKey("error")) {
            assertThat(((Classifier.DeadLetter) d).error())
                .as(name)
                .isEqualTo(e.get("error").string);
          }
        }
        case "nak" -> {
          assertThat(d).as(name).isInstanceOf(Classifier.Nak.class);
          double ms = ((Classifier.Nak) d).delay().toNanos() / 1e6;
          if (e.containsKey("delay_ms")) {
            assertThat(ms).as(name).isCloseTo(e.get("delay_ms").number.doubleValue(), within(1e-6));
          } else {
            assertThat(ms)
                .as(name)
                .isBetween(
                    e.get("delay_min_ms").number.doubleValue() - 1e-6,
                    e.get("delay_max_ms").number.doubleValue() + 1e-6);
          }
        }
        default -> throw new AssertionError("unknown outcome in " + name);
      }
    }
  }

  @Test
  void idempotency() throws Exception {
    Map<String, JsonValue> v = load("idempotency.json").map;
    String q = v.get("queue").string;
    for (JsonValue c : v.get("cases").array) {
      String id = c.map.get("msg_id").string;
      assertThat(IdKeys.idKey(id)).as(id).isEqualTo(c.map.get("id_key").string);
      assertThat(IdKeys.storeKey(q, id)).as(id).isEqualTo(c.map.get("store_key").string);
    }
  }

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

  @Test
  void protobufEncodings() throws Exception {
    Map<String, Message> prototypes =
        Map.of(
            "sluice.v1.CreditToken", CreditToken.getDefaultInstance(),
            "sluice.v1.CapacityAdvert", CapacityAdvert.getDefaultInstance(),
            "sluice.v1.ProducerReport", ProducerReport.getDefaultInstance(),
            "sluice.v1.ReconcilerLease", ReconcilerLease.getDefaultInstance(),
            "sluice.v1.QueueSettings", QueueSettings.getDefaultInstance());
    List<JsonValue> cases = load("protobuf.json").map.get("cases").array;
    assertThat(cases).hasSizeGreaterThanOrEqualTo(5);
    for (JsonValue c : cases) {
      Message proto = prototypes.get(c.map.get("message").string);
      assertThat(proto).as(c.map.get("message").string).isNotNull();
      Message.Builder b = proto.newBuilderForType();
      TextFormat.merge(c.map.get("text").string, b);
      byte[] want = HexFormat.of().parseHex(c.map.get("hex").string);
      assertThat(HexFormat.of().formatHex(b.build().toByteArray()))
          .isEqualTo(c.map.get("hex").string);
      assertThat(proto.getParserForType().parseFrom(want)).isEqualTo(b.build());
    }
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

  /** A vector's optional integer; 0 (the protocol's "default") when absent. */
  private static int intOr(JsonValue v) {
    return v == null ? 0 : v.number.intValue();
  }
}
