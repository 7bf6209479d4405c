package dev.sluice.conformance;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.QuietPullErrorListener;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The Java conformance peer: the command-line contract of {@code peers/README.md} on the Java
 * library, so the runner drives Java, Go and Rust alike.
 *
 * <pre>
 * JavaPeer worker  --server URL --queue Q --worker-id ID [--concurrency N=4] [--prefetch N=4]
 *                  [--work-ms N=0] [--handles TYPE@MIN-MAX[,...]] [--max-attempts N=3]
 *                  [--backoff-initial-ms N=100] [--grace-ms N=3000] [--grace-delay-ms N=500]
 *                  [--token-batch N=8] [--capacity N]
 * JavaPeer produce --server URL --queue Q --producer-id ID --count N [--type T] [--version V]
 *                  [--start N=0] [--behavior ok|poison|fail-once] [--acquire-timeout-ms N=30000]
 * JavaPeer schedule --server URL --queue Q --producer-id ID --count N [--delay-ms D=1000]
 *                  [--type T] [--version V] [--start N=0] [--fire]
 * </pre>
 *
 * <p>Events are JSON lines on stdout, logs go to stderr. A bad command line prints an {@code error}
 * event and exits 2; a failure while running prints one and exits 1. The roles are {@link
 * JavaWorker}, {@link JavaProducer} and {@link JavaSchedule}.
 */
@Command(
    name = "sluice-peer-java",
    mixinStandardHelpOptions = true,
    subcommands = {JavaWorker.class, JavaProducer.class, JavaSchedule.class},
    description = "The Java conformance peer (peers/README.md contract).")
public final class JavaPeer {
  static final String DEFAULT_TYPE = "sluice.conformance.Work";
  private static final SecureRandom RANDOM = new SecureRandom();

  private JavaPeer() {}

  /** Runs the role named by the first argument and exits with its status. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with the contract's error handling: an error event, then exit 2 or 1. */
  static CommandLine commandLine() {
    return new CommandLine(new JavaPeer())
        .setParameterExceptionHandler(
            (e, args) -> {
              error(e.getMessage());
              return 2;
            })
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              error(e.toString());
              return 1;
            });
  }

  /** A new connection that reconnects forever and keeps jnats' pull-error noise quiet. */
  static Connection connect(String url, String name) throws Exception {
    return Nats.connect(
        Options.builder()
            .server(url)
            .connectionName(name)
            .maxReconnects(-1)
            .errorListener(new QuietPullErrorListener())
            .build());
  }

  /** Prints one event line; synchronized so that lines from several threads never interleave. */
  static synchronized void emit(ObjectNode event) {
    System.out.println(JsonLines.write(event));
    System.out.flush();
  }

  /** A new event object with its {@code event} field set. */
  static ObjectNode event(String name) {
    return JsonLines.object().put("event", name);
  }

  /** The contract's {@code error} event (first line of the message) and the whole on stderr. */
  static void error(String message) {
    String line = message == null ? "error" : message.split("\n", 2)[0];
    emit(event("error").put("message", line));
    System.err.println("sluice-peer-java: " + message);
  }

  /** A work payload: {@code {"seq":<seq>,"behavior":"<behavior>"}}. */
  static byte[] body(long seq, String behavior) {
    return JsonLines.write(JsonLines.object().put("seq", seq).put("behavior", behavior))
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Random lowercase hex of {@code bytes} bytes, never all zero (W3C trace context). */
  static String hex(int bytes) {
    byte[] b = new byte[bytes];
    do {
      RANDOM.nextBytes(b);
    } while (allZero(b));
    return HexFormat.of().formatHex(b);
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
