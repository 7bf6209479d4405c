package dev.sluice.cli;

import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.cli.console.ApiException;
import dev.sluice.cli.console.Backend;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The console's {@link Backend}: the same functions the commands print with {@code --json}, on one
 * reconnecting session. Calls run one at a time (they share the connection, and a permission
 * refusal is only visible as the connection's last error).
 */
final class ConsoleDocuments implements Backend {
  private final Connect.Session s;
  private final long stuckMs;
  private final int sample;

  ConsoleDocuments(Connect.Session s, Duration stuckAfter, int sample) {
    this.s = s;
    this.stuckMs = stuckAfter.toMillis();
    this.sample = sample;
  }

  @Override
  public String server() {
    return s.url();
  }

  @Override
  public boolean connected() {
    return s.nc.getStatus() == Connection.Status.CONNECTED;
  }

  @Override
  public List<String> reasons() {
    List<String> codes = new ArrayList<>();
    for (DeadLetterReason r : DeadLetterReason.values()) {
      codes.add(r.code());
    }
    return codes;
  }

  @Override
  public String queues() {
    return call(() -> StatusCommand.document(StatusCommand.read(s, null), stuckMs, s));
  }

  @Override
  public String queue(String queue) {
    return call(() -> StatusCommand.document(StatusCommand.read(s, queue), stuckMs, s));
  }

  @Override
  public String workers(String queue) {
    return call(
        () ->
            WorkersCommand.document(
                WorkersCommand.adverts(s, queue, false), System.currentTimeMillis()));
  }

  @Override
  public String credits(String queue) {
    return call(() -> CreditsCommand.document(StatusCommand.read(s, queue)));
  }

  @Override
  public String explain(String queue) {
    return call(
        () -> {
          QueueState st = QueueState.read(s, queue);
          return ExplainCommand.document(
              st, ExplainCommand.findings(s, st, stuckMs, sample), stuckMs);
        });
  }

  @Override
  public String deadLetters(String queue, String reason, String type, int limit) {
    return call(
        () ->
            DlqCommand.listDocument(
                DlqCommand.records(s, queue, DlqCommand.reason(reason), type, limit)));
  }

  @Override
  public String deadLetter(String queue, long seq) {
    return call(() -> DlqCommand.recordJson(DlqCommand.record(s, queue, seq), true));
  }

  @Override
  public String message(String msgId) {
    return call(
        () -> {
          List<Object> recs = new ArrayList<>();
          String traceparent = null;
          for (DeadLetterRecord r : DlqCommand.records(s, null, null, null, Integer.MAX_VALUE)) {
            if (msgId.equals(r.originalMessageId().orElse(null))) {
              Map<String, Object> doc = DlqCommand.recordJson(r, true);
              if (traceparent == null) {
                traceparent = (String) doc.get("traceparent");
              }
              recs.add(doc);
            }
          }
          if (recs.isEmpty()) {
            throw CliException.notFound(
                "no dead letter of message "
                    + msgId
                    + " (the console finds messages in the dead-letter queue; 'sluice peek Q'"
                    + " shows the work stream)");
          }
          Map<String, Object> m = Json.obj();
          m.put("msg_id", msgId);
          m.put("traceparent", traceparent);
          m.put("trace_id", traceId(traceparent));
          m.put("dead_letters", recs);
          return m;
        });
  }

  /** The trace id of a W3C {@code traceparent} ({@code 00-<trace id>-<span id>-<flags>}). */
  static String traceId(String traceparent) {
    if (traceparent == null) {
      return null;
    }
    String[] parts = traceparent.trim().split("-");
    return parts.length >= 4 && parts[1].length() == 32 ? parts[1] : null;
  }

  @Override
  public String replay(
      String queue,
      Long seq,
      String reason,
      String type,
      boolean all,
      Integer limit,
      boolean dryRun) {
    if (seq == null && reason == null && !all) {
      throw new ApiException(
          400, ExitCodes.USAGE, "say which dead letters to replay: seq, reason or all");
    }
    if (seq != null && (reason != null || all || type != null)) {
      throw new ApiException(
          400, ExitCodes.USAGE, "seq replays one record: send it without reason, type or all");
    }
    int max = limit == null ? Integer.MAX_VALUE : Math.max(1, limit);
    AtomicReference<Map<String, Object>> doc = new AtomicReference<>();
    String json =
        call(
            () -> {
              doc.set(
                  DlqActions.replay(s, queue, seq, DlqCommand.reason(reason), type, max, dryRun));
              return doc.get();
            });
    Object failure = doc.get().get("error");
    if (failure != null) {
      throw new ApiException(409, ExitCodes.FINDING, failure.toString(), json);
    }
    return json;
  }

  @Override
  public String purge(String queue) {
    return call(() -> DlqActions.purge(s, queue));
  }

  private synchronized String call(Callable<Object> document) {
    if (!connected()) {
      throw new ApiException(
          503,
          ExitCodes.CONNECT,
          "not connected to NATS at "
              + s.options.server
              + " ("
              + s.nc.getStatus().name().toLowerCase()
              + "): the console reconnects by itself; is nats-server running?");
    }
    s.nc.clearLastError();
    try {
      return Json.write(document.call());
    } catch (Exception e) {
      String last = s.nc.getLastError();
      if (last != null && last.contains("Permissions Violation") && !(e instanceof CliException)) {
        throw new ApiException(
            403,
            ExitCodes.CONNECT,
            "permission denied: "
                + last.trim()
                + ": the console's NATS user may not do this (see 'sluice permissions --role"
                + " operator --queue Q' for the subjects it needs)");
      }
      CliException c = e instanceof CliException ce ? ce : Errors.map(e);
      throw new ApiException(status(c.exitCode()), c.exitCode(), c.getMessage());
    }
  }

  private static int status(int exitCode) {
    return switch (exitCode) {
      case ExitCodes.USAGE -> 400;
      case ExitCodes.CONNECT -> 503;
      case ExitCodes.NOT_FOUND -> 404;
      default -> 500;
    };
  }
}
