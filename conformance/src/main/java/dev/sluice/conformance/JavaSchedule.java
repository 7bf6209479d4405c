package dev.sluice.conformance;

import static dev.sluice.conformance.JavaPeer.body;
import static dev.sluice.conformance.JavaPeer.emit;
import static dev.sluice.conformance.JavaPeer.event;
import static dev.sluice.conformance.JavaPeer.hex;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.ScheduledSend;
import dev.sluice.Scheduler;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code schedule} role (PROTOCOL.md §13.3): stores {@code --count} one-shot schedules with
 * {@link QueueProducer#sendAt}, each due {@code --delay-ms} after it is stored, message id {@code
 * <producer-id>-<seq>} and a fresh {@code traceparent}, printing {@code scheduled} for each.
 *
 * <p>Without {@code --fire} it then prints {@code done} and exits 0. With {@code --fire} (a Java
 * extension of the contract) it also runs a {@link Scheduler} for the queue, started before the
 * first schedule is stored, until SIGTERM or SIGINT; then it closes it and prints {@code done} with
 * {@code fired}, the messages this process fired. The scheduler's id (its producer id and lease
 * holder) is {@code <producer-id>-firer}, so that its producer report is not the scheduling
 * producer's.
 *
 * <p>{@code stream_seq} of {@code scheduled} is null: the library's {@link ScheduledSend} does not
 * expose the schedule stream's sequence.
 */
@Command(
    name = "schedule",
    description = "Store --count one-shot schedules; with --fire, also fire them until SIGTERM.")
final class JavaSchedule implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", required = true)
  String queue;

  @Option(names = "--producer-id", required = true)
  String id;

  @Option(names = "--count", required = true)
  int count;

  @Option(names = "--delay-ms", defaultValue = "1000")
  long delayMs;

  @Option(names = "--type", defaultValue = JavaPeer.DEFAULT_TYPE)
  String type;

  @Option(names = "--version", defaultValue = "1")
  int version;

  @Option(names = "--start", defaultValue = "0")
  long start;

  @Option(
      names = "--fire",
      description = "Also run a Scheduler that fires the queue's schedules, until SIGTERM.")
  boolean fire;

  @Override
  public Integer call() throws Exception {
    Connection nc = JavaPeer.connect(server, "conformance-schedule-" + id);
    CountDownLatch stop = new CountDownLatch(1);
    if (fire) {
      sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
    }
    Scheduler scheduler =
        fire
            ? Sluice.using(nc)
                .scheduler(queue)
                .id(id + "-firer")
                .leaseInterval(Duration.ofMillis(500))
                .start()
            : null;
    int stored = 0;
    try {
      try (QueueProducer p = Sluice.using(nc).producer(queue).producerId(id).build()) {
        emit(event("ready").put("role", "producer").put("id", id).put("lang", "java"));
        for (long seq = start; seq < start + count; seq++) {
          ScheduledSend s =
              p.sendAt(
                  OutgoingMessage.builder(type, version, body(seq, "ok"))
                      .contentType("application/json")
                      .messageId(id + "-" + seq)
                      .traceparent("00-" + hex(16) + "-" + hex(8) + "-01")
                      .build(),
                  Instant.now().plusMillis(delayMs));
          emit(
              event("scheduled")
                  .put("id", id)
                  .put("msg_id", s.messageId())
                  .put("seq", seq)
                  .put("trace_id", s.traceparent().split("-")[1])
                  .put("due_unix_ms", s.dueAt().toEpochMilli())
                  .putNull("stream_seq"));
          stored++;
        }
      }
      if (scheduler != null) {
        stop.await();
      }
    } finally {
      if (scheduler != null) {
        scheduler.close();
      }
    }
    var done = event("done").put("id", id).put("sent", stored);
    if (scheduler != null) {
      done.put("fired", scheduler.fired());
    }
    emit(done);
    nc.close();
    return 0;
  }
}
