package dev.sluice.faults;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A producer in its own JVM, for the runner to kill with SIGKILL while it holds credit tokens.
 * Arguments: server URLs (comma-separated), queue, acknowledged-send log, message count. It sends
 * the messages (ids {@code child-<n>}), records each acknowledged send, keeps the rest of its
 * tokens (idle return of an hour), prints {@code HOLDING <credits>} and waits to be killed.
 */
public final class ChildProducer {
  private ChildProducer() {}

  /** Sends, then holds; never returns normally. */
  public static void main(String[] args) throws Exception {
    Connection nc =
        Nats.connect(new Options.Builder().servers(args[0].split(",")).maxReconnects(-1).build());
    IdLog acked = new IdLog(Path.of(args[2]));
    QueueProducer p =
        Sluice.using(nc)
            .producer(args[1])
            .producerId("child")
            .prefetch(1)
            .idleReturn(Duration.ofHours(1))
            .build();
    for (int i = 0; i < Integer.parseInt(args[3]); i++) {
      String id = "child-" + i;
      p.send(
          OutgoingMessage.builder(
                  Workload.JOB.type(), Workload.JOB.version(), id.getBytes(StandardCharsets.UTF_8))
              .contentType(Workload.JOB.contentType())
              .messageId(id)
              .build());
      acked.append(id);
    }
    System.out.println("HOLDING " + p.creditsHeld());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
