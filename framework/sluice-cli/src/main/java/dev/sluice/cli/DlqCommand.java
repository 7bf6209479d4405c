package dev.sluice.cli;

import dev.sluice.DeadLetterReason;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.PurgeOptions;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PublishAck;
import io.nats.client.api.PurgeResponse;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.Console;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "dlq",
    description = "List, show, replay and purge dead letters (stream SLUICE_DLQ, §8).",
    subcommands = {
      DlqCommand.ListCmd.class,
      DlqCommand.ShowCmd.class,
      DlqCommand.ReplayCmd.class,
      DlqCommand.PurgeCmd.class
    })
final class DlqCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  static final String PREFIX = "sluice.dlq.";

  static String subject(String queue) {
    if (queue == null) {
      return PREFIX + ">";
    }
    try {
      Protocol.requireQueueName(queue);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    return Protocol.dlqSubject(queue);
  }

  static String reasonCode(String reason) {
    if (reason == null) {
      return null;
    }
    try {
      return DeadLetterReason.fromCode(reason).code();
    } catch (IllegalArgumentException e) {
      List<String> codes = new ArrayList<>();
      for (DeadLetterReason r : DeadLetterReason.values()) {
        codes.add(r.code());
      }
      throw CliException.usage(
          "unknown dead-letter reason '" + reason + "': use one of " + String.join(", ", codes));
    }
  }

  static boolean dlqExists(Connect.Session s) throws Exception {
    try {
      s.jsm.getStreamInfo(Protocol.DLQ_STREAM);
      return true;
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == QueueState.STREAM_NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  /** Records of {@code queue} (or every queue), optionally with one reason. */
  static List<MessageInfo> records(Connect.Session s, String queue, String reason, int max)
      throws Exception {
    if (!dlqExists(s)) {
      return List.of();
    }
    List<MessageInfo> out = new ArrayList<>();
    long seq = 1;
    while (out.size() < max) {
      List<MessageInfo> batch = Messages.read(s.jsm, Protocol.DLQ_STREAM, subject(queue), seq, 256);
      if (batch.isEmpty()) {
        break;
      }
      for (MessageInfo mi : batch) {
        if (reason == null
            || reason.equals(Messages.first(mi.getHeaders(), Protocol.H_DLQ_REASON))) {
          if (out.size() < max) {
            out.add(mi);
          }
        }
      }
      seq = batch.get(batch.size() - 1).getSeq() + 1;
    }
    return out;
  }

  static String queueOf(MessageInfo mi) {
    String subj = mi.getSubject();
    return subj != null && subj.startsWith(PREFIX) ? subj.substring(PREFIX.length()) : subj;
  }

  static Map<String, Object> recordJson(MessageInfo mi, boolean full) {
    Headers h = mi.getHeaders();
    Map<String, Object> m = Json.obj();
    m.put("dlq_seq", mi.getSeq());
    m.put("queue", queueOf(mi));
    m.put("reason", Messages.first(h, Protocol.H_DLQ_REASON));
    m.put("error", Messages.first(h, Protocol.H_DLQ_ERROR));
    String attempts = Messages.first(h, Protocol.H_DLQ_ATTEMPTS);
    m.put("attempts", attempts == null ? null : parseLong(attempts));
    m.put("original_msg_id", Messages.first(h, Protocol.H_DLQ_MSG_ID));
    m.put("type", Messages.first(h, Protocol.H_TYPE));
    m.put("type_version", Messages.first(h, Protocol.H_TYPE_VERSION));
    m.put("worker", Messages.first(h, Protocol.H_DLQ_WORKER));
    String at = Messages.first(h, Protocol.H_DLQ_AT);
    m.put("at_unix_ms", at == null ? null : parseLong(at));
    String seq = Messages.first(h, Protocol.H_DLQ_STREAM_SEQ);
    m.put("stream_seq", seq == null ? null : parseLong(seq));
    m.put("traceparent", Messages.first(h, Protocol.H_TRACEPARENT));
    if (full) {
      m.put("headers", Messages.headers(h));
      Messages.payload(m, mi.getData(), 0);
    }
    return m;
  }

  /**
   * §8.3 replay headers, less any {@code Nats-Expected-*} publish precondition copied from the
   * original publish (the stored record carries the producer's {@code Nats-Expected-Stream}, which
   * would make the server refuse the replay).
   */
  static Headers replayHeaders(MessageInfo record) {
    Headers h = DeadLetters.replayHeaders(record.getHeaders(), record.getSeq());
    Headers out = new Headers();
    for (String key : h.keySet()) {
      if (!key.startsWith("Nats-Expected-")) {
        out.put(key, h.get(key));
      }
    }
    return out;
  }

  private static Long parseLong(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Command(name = "list", description = "List dead letters with reason, error and attempts.")
  static final class ListCmd extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
    String queue;

    @Option(names = "--reason", paramLabel = "CODE", description = "Only this reason code.")
    String reason;

    @Option(
        names = "--limit",
        defaultValue = "1000",
        description = "At most this many (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    int run(Connect.Session s) throws Exception {
      List<MessageInfo> recs = records(s, queue, reasonCode(reason), Math.max(1, limit));
      if (json()) {
        List<Object> rs = new ArrayList<>();
        for (MessageInfo mi : recs) {
          rs.add(recordJson(mi, false));
        }
        Map<String, Object> m = Json.obj();
        m.put("dead_letters", rs);
        printJson(m);
        return ExitCodes.OK;
      }
      if (recs.isEmpty()) {
        out().println("no dead letters" + (queue == null ? "" : " for queue " + queue));
        out().flush();
        return ExitCodes.OK;
      }
      Table t = new Table("SEQ", "QUEUE", "REASON", "ATTEMPTS", "AGE", "TYPE", "MSG-ID", "ERROR");
      long now = System.currentTimeMillis();
      for (MessageInfo mi : recs) {
        Map<String, Object> r = recordJson(mi, false);
        Long at = (Long) r.get("at_unix_ms");
        String error = String.valueOf(r.get("error"));
        t.row(
            r.get("dlq_seq"),
            r.get("queue"),
            r.get("reason"),
            r.get("attempts"),
            at == null ? "-" : Table.age(Math.max(0, now - at)),
            r.get("type") + "@" + r.get("type_version"),
            r.get("original_msg_id"),
            error.length() > 60 ? error.substring(0, 60) + "…" : error);
      }
      t.print(out());
      return ExitCodes.OK;
    }
  }

  @Command(name = "show", description = "Show one dead letter with every header and its payload.")
  static final class ShowCmd extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "Its queue.")
    String queue;

    @Option(names = "--seq", required = true, description = "The record's SLUICE_DLQ sequence.")
    long seq;

    @Override
    int run(Connect.Session s) throws Exception {
      MessageInfo mi = dlqExists(s) ? Messages.get(s.jsm, Protocol.DLQ_STREAM, seq) : null;
      if (mi == null
          || !mi.getSubject().startsWith(PREFIX)
          || (queue != null && !mi.getSubject().equals(subject(queue)))) {
        throw CliException.notFound(
            "no dead letter with sequence "
                + seq
                + (queue == null ? "" : " for queue " + queue)
                + " (list them with 'sluice dlq list')");
      }
      Map<String, Object> r = recordJson(mi, true);
      if (json()) {
        printJson(r);
        return ExitCodes.OK;
      }
      for (Map.Entry<String, Object> e : r.entrySet()) {
        if (e.getKey().equals("headers")) {
          out().println("headers:");
          for (Map.Entry<String, Object> h : Messages.headers(mi.getHeaders()).entrySet()) {
            out().println("  " + h.getKey() + ": " + h.getValue());
          }
        } else {
          out().println(e.getKey() + ": " + (e.getValue() == null ? "-" : e.getValue()));
        }
      }
      out().flush();
      return ExitCodes.OK;
    }
  }

  /** Exactly one selection for replay. */
  static final class Selection {
    @Option(names = "--seq", description = "The record with this SLUICE_DLQ sequence.")
    Long seq;

    @Option(names = "--reason", paramLabel = "CODE", description = "Every record with this reason.")
    String reason;

    @Option(names = "--all", description = "Every record (of QUEUE, or of every queue).")
    boolean all;
  }

  @Command(
      name = "replay",
      description = {
        "Publish dead letters back to their work queue (PROTOCOL §8.3) and remove them from the"
            + " DLQ once the work stream has stored them.",
        "Replays do not spend credits: the work stream's hard limit still applies."
      })
  static final class ReplayCmd extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
    String queue;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Selection selection;

    @Option(names = "--limit", description = "Replay at most this many.")
    Integer limit;

    @Option(names = "--dry-run", description = "Say what would be replayed; change nothing.")
    boolean dryRun;

    @Override
    int run(Connect.Session s) throws Exception {
      String reason = reasonCode(selection.reason);
      int max = limit == null ? Integer.MAX_VALUE : Math.max(1, limit);
      List<MessageInfo> recs;
      if (selection.seq != null) {
        MessageInfo mi =
            dlqExists(s) ? Messages.get(s.jsm, Protocol.DLQ_STREAM, selection.seq) : null;
        if (mi == null
            || !mi.getSubject().startsWith(PREFIX)
            || (queue != null && !mi.getSubject().equals(subject(queue)))) {
          throw CliException.notFound(
              "no dead letter with sequence "
                  + selection.seq
                  + (queue == null ? "" : " for queue " + queue)
                  + " (list them with 'sluice dlq list')");
        }
        recs = List.of(mi);
      } else {
        recs = records(s, queue, reason, max);
      }
      Set<String> present = new HashSet<>();
      List<Object> done = new ArrayList<>();
      String failure = null;
      int replayed = 0;
      for (MessageInfo mi : recs) {
        String q = queueOf(mi);
        if (!present.contains(q)) {
          QueueState.read(s, q); // not found -> exit 4
          present.add(q);
        }
        Map<String, Object> r = Json.obj();
        r.put("dlq_seq", mi.getSeq());
        r.put("queue", q);
        r.put("original_msg_id", Messages.first(mi.getHeaders(), Protocol.H_DLQ_MSG_ID));
        r.put("replay_msg_id", "replay." + mi.getSeq());
        if (!dryRun) {
          Headers h = replayHeaders(mi);
          PublishAck ack;
          try {
            ack =
                s.nc
                    .jetStream()
                    .publish(
                        NatsMessage.builder()
                            .subject(Protocol.workSubject(q))
                            .headers(h)
                            .data(mi.getData())
                            .build());
          } catch (JetStreamApiException e) {
            failure =
                e.getApiErrorCode() == Protocol.ERR_MAX_MSGS
                    ? "queue " + q + " is at its hard limit (max_msgs); replay again later"
                    : "publishing dead letter " + mi.getSeq() + " failed: " + e.getMessage();
            break;
          }
          r.put("work_seq", ack.getSeqno());
          r.put("duplicate", ack.isDuplicate());
          s.jsm.deleteMessage(Protocol.DLQ_STREAM, mi.getSeq());
          replayed++;
        }
        done.add(r);
      }
      if (json()) {
        Map<String, Object> m = Json.obj();
        m.put("dry_run", dryRun);
        m.put("replayed", dryRun ? 0 : replayed);
        m.put("records", done);
        m.put("error", failure);
        printJson(m);
      } else {
        if (recs.isEmpty()) {
          out().println("no dead letters matched");
        }
        for (Object o : done) {
          @SuppressWarnings("unchecked")
          Map<String, Object> r = (Map<String, Object>) o;
          out()
              .println(
                  (dryRun ? "would replay " : "replayed ")
                      + "dead letter "
                      + r.get("dlq_seq")
                      + " to queue "
                      + r.get("queue")
                      + (dryRun ? "" : " as work seq " + r.get("work_seq"))
                      + " (msg id replay."
                      + r.get("dlq_seq")
                      + ", replay of "
                      + r.get("original_msg_id")
                      + ")");
        }
        if (!dryRun) {
          out().println(replayed + " replayed");
        }
        out().flush();
      }
      if (failure != null) {
        throw new CliException(ExitCodes.FINDING, failure);
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "purge", description = "Delete dead letters of QUEUE (or of every queue).")
  static final class PurgeCmd extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
    String queue;

    @Option(
        names = {"-y", "--yes"},
        description = "Do not ask for confirmation.")
    boolean yes;

    @Override
    int run(Connect.Session s) throws Exception {
      String subject = subject(queue);
      if (!dlqExists(s)) {
        throw CliException.notFound("stream " + Protocol.DLQ_STREAM + " does not exist");
      }
      long count;
      if (queue != null) {
        Long n = QueueState.deadLetterCount(s, queue);
        count = n == null ? 0 : n;
      } else {
        count = records(s, null, null, Integer.MAX_VALUE).size();
      }
      String what = count + " dead letters" + (queue == null ? " of every queue" : " of " + queue);
      if (!yes) {
        Console console = System.console();
        if (console == null) {
          throw CliException.usage("refusing to purge " + what + " without --yes (no terminal)");
        }
        String answer = console.readLine("Purge %s? [y/N] ", what);
        if (answer == null || !answer.trim().toLowerCase().startsWith("y")) {
          throw CliException.usage("purge cancelled");
        }
      }
      PurgeResponse r =
          s.jsm.purgeStream(Protocol.DLQ_STREAM, PurgeOptions.builder().subject(subject).build());
      if (json()) {
        Map<String, Object> m = Json.obj();
        m.put("queue", queue);
        m.put("purged", r.getPurged());
        printJson(m);
      } else {
        out().println("purged " + r.getPurged() + " dead letters");
        out().flush();
      }
      return ExitCodes.OK;
    }
  }
}
