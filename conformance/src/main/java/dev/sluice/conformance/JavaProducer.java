package dev.sluice.conformance;

import static dev.sluice.conformance.JavaPeer.body;
import static dev.sluice.conformance.JavaPeer.emit;
import static dev.sluice.conformance.JavaPeer.event;
import static dev.sluice.conformance.JavaPeer.hex;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code produce} role: sends {@code --count} work messages one at a time with message id
 * {@code <producer-id>-<seq>} and a fresh {@code traceparent}, printing {@code sent} for each;
 * exits 0 once all were acknowledged, 1 (after an {@code error} event) otherwise.
 */
@Command(name = "produce", description = "Send --count work messages, then exit.")
final class JavaProducer implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", required = true)
  String queue;

  @Option(names = "--producer-id", required = true)
  String id;

  @Option(names = "--count", required = true)
  int count;

  @Option(names = "--type", defaultValue = JavaPeer.DEFAULT_TYPE)
  String type;

  @Option(names = "--version", defaultValue = "1")
  int version;

  @Option(names = "--start", defaultValue = "0")
  long start;

  @Option(names = "--behavior", defaultValue = "ok", description = "ok, poison or fail-once")
  String behavior;

  @Option(names = "--acquire-timeout-ms", defaultValue = "30000")
  long acquireMs;

  @Option(names = "--fairness-key", description = "Sluice-Fairness-Key of every message (§15.3)")
  String fairnessKey;

  @Override
  public Integer call() throws Exception {
    Connection nc = JavaPeer.connect(server, "conformance-producer-" + id);
    int sent = 0;
    QueueProducer[] made = new QueueProducer[1];
    try (QueueProducer p =
        made[0] =
            Sluice.using(nc)
                .producer(queue)
                .producerId(id)
                .acquireTimeout(Duration.ofMillis(acquireMs))
                .build()) {
      OutgoingMessage.Builder keyCheck = OutgoingMessage.builder(type, version, new byte[0]);
      if (fairnessKey != null) {
        keyCheck.fairnessKey(fairnessKey); // refused before any send, as the contract asks
      }
      emit(event("ready").put("role", "producer").put("id", id).put("lang", "java"));
      for (long seq = start; seq < start + count; seq++) {
        String traceId = hex(16);
        OutgoingMessage.Builder m =
            OutgoingMessage.builder(type, version, body(seq, behavior))
                .contentType("application/json")
                .messageId(id + "-" + seq)
                .traceparent("00-" + traceId + "-" + hex(8) + "-01");
        if (fairnessKey != null) {
          m.fairnessKey(fairnessKey);
        }
        SendResult r = p.send(m.build());
        String[] tp = r.traceparent() == null ? new String[0] : r.traceparent().split("-");
        emit(
            event("sent")
                .put("id", id)
                .put("msg_id", r.messageId())
                .put("seq", seq)
                .put("trace_id", tp.length == 4 ? tp[1] : traceId)
                .put("stream_seq", r.streamSequence()));
        sent++;
      }
    } catch (Exception e) {
      emitReturned(made[0]);
      emit(event("done").put("id", id).put("sent", sent));
      nc.close();
      throw e;
    }
    emitReturned(made[0]);
    emit(event("done").put("id", id).put("sent", sent));
    nc.close();
    return 0;
  }

  /**
   * After close: the credits the producer took out of circulation by acking partly spent tokens
   * (§6.7), which only a reconciler mints back; the conservation check of a fleet without one
   * counts them.
   */
  private void emitReturned(QueueProducer p) {
    if (p != null && p.returnedCredits() > 0) {
      emit(event("returned").put("id", id).put("unspent", p.returnedCredits()));
    }
  }
}
