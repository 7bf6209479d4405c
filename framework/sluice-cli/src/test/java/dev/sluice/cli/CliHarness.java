package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.SluiceHeaders;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine;

/**
 * Runs the CLI in-process for the CLI tests and reads what it printed: exit code, stdout, stderr,
 * and the fields of its JSON output.
 */
final class CliHarness {
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  private CliHarness() {}

  /** One CLI run: exit code, stdout, stderr. */
  record Run(int code, String out, String err) {
    JsonValue json() {
      try {
        return JsonParser.parse(out.trim());
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + out + " / stderr: " + err, e);
      }
    }

    /** The first (only) queue of a status document. */
    JsonValue queue() {
      return json().map.get("queues").array.get(0);
    }
  }

  static Run cliAt(String url, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = SluiceCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> full = new ArrayList<>(List.of("--server", url));
    full.addAll(List.of(args));
    int code = cl.execute(full.toArray(new String[0]));
    return new Run(code, out.toString(), err.toString());
  }

  static long num(JsonValue v, String key) {
    JsonValue x = v.map.get(key);
    assertThat(x).as(key).isNotNull();
    assertThat(x.number).as(key + " in " + v.toJson()).isNotNull();
    return x.number.longValue();
  }

  static String str(JsonValue v, String key) {
    JsonValue x = v.map.get(key);
    return x == null ? null : x.string;
  }

  /** Publishes n valid {@code test.Job} messages straight to the work stream, bypassing credits. */
  static void rawPublish(Connection nc, String q, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      Headers h = new Headers();
      h.put(SluiceHeaders.MSG_ID, UUID.randomUUID().toString());
      h.put(SluiceHeaders.PROTOCOL, "1");
      h.put(SluiceHeaders.TYPE, "test.Job");
      h.put(SluiceHeaders.TYPE_VERSION, "1");
      nc.jetStream()
          .publish(
              NatsMessage.builder()
                  .subject("sluice.q." + q)
                  .headers(h)
                  .data(("raw-" + i).getBytes(StandardCharsets.UTF_8))
                  .build());
    }
  }

  /** The finding codes of an {@code explain --json} run. */
  static List<String> codes(Run explain) {
    return explain.json().map.get("findings").array.stream().map(f -> str(f, "code")).toList();
  }
}
