package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.cli.console.ConsoleServer;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The console's JSON API: the same documents as the CLI's {@code --json}, and its guards. */
class ConsoleApiTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final Duration WAIT = Duration.ofSeconds(20);

  /** Fields that move between two reads of the same state (clocks, ages, heartbeats, audits). */
  static final Set<String> MOVING =
      Set.of(
          "time_unix_ms",
          "last_ack_ago_ms",
          "last_delivery_ago_ms",
          "oldest_age_ms",
          "last_seen_ms_ago",
          "heartbeat_unix_ms",
          "service_rate",
          "expires_unix_ms",
          "expires_in_ms",
          "last_audit");

  static final List<AutoCloseable> OPEN = new ArrayList<>();
  static String q;

  @BeforeAll
  static void shared() throws Exception {
    q = queueWithDeadLetters("api");
  }

  @AfterAll
  static void close() throws Exception {
    for (AutoCloseable c : OPEN) {
      c.close();
    }
  }

  /** A queue with three dead letters (every attempt fails) and its worker still running. */
  static String queueWithDeadLetters(String hint) throws Exception {
    String name = NATS.uniqueName(hint);
    Connection nc = NATS.server().connect();
    Sluice sluice = Sluice.using(nc);
    sluice.provision(QueueSpec.builder(name).standingBuffer(4).build());
    Worker w =
        sluice
            .worker(name)
            .workerId("w-api")
            .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
            .handle(
                JOB,
                (s, ctx) -> {
                  throw new IllegalStateException("bad " + s);
                })
            .start();
    OPEN.add(0, nc);
    OPEN.add(0, w);
    try (QueueProducer p = sluice.producer(name).acquireTimeout(WAIT).build()) {
      for (int i = 0; i < 3; i++) {
        p.send(OutgoingMessage.of(JOB, "job-" + i));
      }
    }
    await().atMost(WAIT).until(() -> sluice.deadLetters().count(name) == 3);
    return name;
  }

  static JsonNode cli(String... args) throws Exception {
    CliHarness.Run r = CliHarness.cliAt(NATS.server().url(), args);
    return JSON.readTree(r.out());
  }

  record Answer(int status, JsonNode json) {}

  static Answer get(ConsoleServer c, String path) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(c.url() + path.substring(1))).build(),
            HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), JSON.readTree(r.body()));
  }

  static Answer post(ConsoleServer c, String path, String body, String... headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(c.url() + path.substring(1)))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), JSON.readTree(r.body()));
  }

  static final String[] WRITE = {"Content-Type", "application/json", "X-Sluice-Console", "1"};

  /** A copy of {@code n} without the {@link #MOVING} fields, at any depth. */
  static JsonNode still(JsonNode n) {
    JsonNode c = n.deepCopy();
    strip(c);
    return c;
  }

  private static void strip(JsonNode n) {
    if (n.isObject()) {
      ((ObjectNode) n).remove(MOVING);
      for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
        strip(it.next());
      }
    } else if (n.isArray()) {
      n.forEach(ConsoleApiTest::strip);
    }
  }

  /** The API's answer to GET {@code path} is the CLI's document for {@code args}. */
  static void sameAsCli(ConsoleServer c, String path, String... args) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              Answer a = get(c, path);
              assertThat(a.status()).as(path + ": " + a.json()).isEqualTo(200);
              assertThat(still(a.json())).as(path).isEqualTo(still(cli(args)));
            });
  }

  @Test
  void everyReadIsTheCliDocument() throws Exception {
    try (ConsoleServer c = ConsoleBrowserTest.console(NATS.server().url())) {
      sameAsCli(c, "/api/queues", "status", "--json");
      sameAsCli(c, "/api/queues/" + q, "status", q, "--json");
      sameAsCli(c, "/api/queues/" + q + "/workers", "workers", q, "--json");
      sameAsCli(c, "/api/queues/" + q + "/credits", "credits", q, "--json");
      sameAsCli(c, "/api/queues/" + q + "/explain", "explain", q, "--json");
      sameAsCli(c, "/api/queues/" + q + "/dlq", "dlq", "list", q, "--json");
      sameAsCli(
          c,
          "/api/queues/" + q + "/dlq?reason=max-attempts&type=test.Job",
          "dlq",
          "list",
          q,
          "--reason",
          "max-attempts",
          "--type",
          "test.Job",
          "--json");
      sameAsCli(c, "/api/dlq?type=other.Type", "dlq", "list", "--type", "other.Type", "--json");
      JsonNode list = get(c, "/api/queues/" + q + "/dlq").json().get("dead_letters");
      assertThat(list).hasSize(3);
      assertThat(list.get(0).get("worker").asText()).isEqualTo("w-api");
      long seq = list.get(0).get("dlq_seq").asLong();
      sameAsCli(
          c, "/api/queues/" + q + "/dlq/" + seq, "dlq", "show", q, "--seq", "" + seq, "--json");

      // An error is the CLI's error document, with the HTTP status to match.
      Answer missing = get(c, "/api/queues/nosuchqueue");
      assertThat(missing.status()).isEqualTo(404);
      assertThat(still(missing.json())).isEqualTo(cli("status", "nosuchqueue", "--json"));
      assertThat(missing.json().get("exit_code").asInt()).isEqualTo(ExitCodes.NOT_FOUND);
      assertThat(post(c, "/api/queues/" + q, "{}", WRITE).status()).isEqualTo(404);
      assertThat(get(c, "/api/nothing").json().get("error").asText()).contains("no such API route");
      HttpResponse<String> delete =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(c.url() + "api/queues/" + q)).DELETE().build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(delete.statusCode()).isEqualTo(405);
      Answer badReason = get(c, "/api/queues/" + q + "/dlq?reason=nope");
      assertThat(badReason.status()).isEqualTo(400);
      assertThat(badReason.json().get("error").asText()).contains("max-attempts");

      // The message page's document: the dead letters of one message id, with the trace id.
      String id = list.get(0).get("original_msg_id").asText();
      Answer m = get(c, "/api/messages/" + id);
      assertThat(m.status()).isEqualTo(200);
      assertThat(m.json().get("dead_letters")).hasSize(1);
      String traceparent = m.json().get("traceparent").asText();
      assertThat(traceparent).isEqualTo(list.get(0).get("traceparent").asText());
      assertThat(m.json().get("trace_id").asText())
          .hasSize(32)
          .isEqualTo(traceparent.split("-")[1]);
      assertThat(get(c, "/api/messages/no-such-id").status()).isEqualTo(404);

      // History: a fresh page gets the samples taken so far.
      await()
          .atMost(WAIT)
          .until(() -> get(c, "/api/history").json().at("/queues/" + q + "/t").size() >= 2);
      JsonNode h = get(c, "/api/history").json().get("queues").get(q);
      assertThat(h.get("dead_letters").get(h.get("dead_letters").size() - 1).asLong()).isEqualTo(3);
    }
  }

  @Test
  void readOnlyByDefault() throws Exception {
    try (ConsoleServer c = ConsoleBrowserTest.console(NATS.server().url())) {
      assertThat(c.url()).startsWith("http://127.0.0.1:");
      assertThat(get(c, "/api/console").json().get("allow_writes").asBoolean()).isFalse();
      Answer refused = post(c, "/api/queues/" + q + "/dlq/purge", "{}", WRITE);
      assertThat(refused.status()).isEqualTo(403);
      assertThat(refused.json().get("error").asText()).contains("read-only", "--allow-writes");
      assertThat(post(c, "/api/queues/" + q + "/dlq/replay", "{\"all\":true}", WRITE).status())
          .isEqualTo(403);
      assertThat(cli("status", q, "--json").at("/queues/0/dead_letters").asLong()).isEqualTo(3);
    }
  }

  @Test
  void writesNeedTheFlagTheHeaderAndTheConsolesOwnOrigin() throws Exception {
    String q = queueWithDeadLetters("writes");
    try (ConsoleServer c = ConsoleBrowserTest.console(NATS.server().url(), "--allow-writes")) {
      String replay = "/api/queues/" + q + "/dlq/replay";
      Answer noHeader = post(c, replay, "{\"all\":true}", "Content-Type", "application/json");
      assertThat(noHeader.status()).isEqualTo(403);
      assertThat(noHeader.json().get("error").asText()).contains("X-Sluice-Console");
      Answer otherSite =
          post(
              c,
              replay,
              "{\"all\":true}",
              "Content-Type",
              "application/json",
              "X-Sluice-Console",
              "1",
              "Origin",
              "http://evil.example");
      assertThat(otherSite.status()).isEqualTo(403);
      assertThat(otherSite.json().get("error").asText()).contains("cross-origin");
      Answer form =
          post(c, replay, "all=true", "Content-Type", "text/plain", "X-Sluice-Console", "1");
      assertThat(form.status()).isEqualTo(415);
      assertThat(post(c, replay, "{}", WRITE).status()).isEqualTo(400);
      assertThat(rawGetWithHost(c, "evil.example")).startsWith("HTTP/1.1 403");
      assertThat(rawGetWithHost(c, "localhost:" + c.port())).startsWith("HTTP/1.1 200");
      assertThat(cli("status", q, "--json").at("/queues/0/dead_letters").asLong()).isEqualTo(3);

      // A dry run is the CLI's dry run, record for record.
      Answer dry = post(c, replay, "{\"all\":true,\"dry_run\":true}", WRITE);
      assertThat(dry.status()).isEqualTo(200);
      assertThat(dry.json()).isEqualTo(cli("dlq", "replay", q, "--all", "--dry-run", "--json"));
      assertThat(dry.json().get("records")).hasSize(3);

      // One record: replayed to the work queue (the worker dead-letters it again: new record).
      long seq = dry.json().get("records").get(0).get("dlq_seq").asLong();
      Answer one = post(c, replay, "{\"seq\":" + seq + "}", WRITE);
      assertThat(one.status()).as(one.json().toString()).isEqualTo(200);
      assertThat(one.json().get("replayed").asInt()).isEqualTo(1);
      assertThat(one.json().at("/records/0/replay_msg_id").asText()).isEqualTo("replay." + seq);
      assertThat(one.json().at("/records/0/work_seq").asLong()).isPositive();

      await()
          .atMost(WAIT)
          .until(() -> cli("status", q, "--json").at("/queues/0/dead_letters").asLong() == 3);
      Answer purge = post(c, "/api/queues/" + q + "/dlq/purge", "{}", WRITE);
      assertThat(purge.status()).isEqualTo(200);
      assertThat(purge.json().get("queue").asText()).isEqualTo(q);
      assertThat(purge.json().get("purged").asLong()).isEqualTo(3);
      assertThat(cli("status", q, "--json").at("/queues/0/dead_letters").asLong()).isZero();
    }
  }

  /** A GET with a chosen Host header (java.net.http does not let a caller set it). */
  static String rawGetWithHost(ConsoleServer c, String host) throws Exception {
    try (Socket s = new Socket("127.0.0.1", c.port())) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET /api/console HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
          .readLine();
    }
  }
}
