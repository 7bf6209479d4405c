package dev.sluice.cli;

import dev.sluice.DeadLetterQueue;
import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.QueueSpec;
import dev.sluice.SluiceHeaders;
import dev.sluice.StoredMessage;
import java.io.Console;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

  /** {@code queue} when it is a valid queue name (or null: every queue); else a usage error. */
  static String checkQueue(String queue) {
    if (queue != null) {
      try {
        QueueSpec.of(queue);
      } catch (IllegalArgumentException e) {
        throw CliException.usage(e.getMessage());
      }
    }
    return queue;
  }

  static DeadLetterReason reason(String reason) {
    if (reason == null) {
      return null;
    }
    try {
      return DeadLetterReason.fromCode(reason);
    } catch (IllegalArgumentException e) {
      List<String> codes = new ArrayList<>();
      for (DeadLetterReason r : DeadLetterReason.values()) {
        codes.add(r.code());
      }
      throw CliException.usage(
          "unknown dead-letter reason '" + reason + "': use one of " + String.join(", ", codes));
    }
  }

  /** Records of {@code queue} (or every queue), optionally with one reason. */
  static List<DeadLetterRecord> records(
      Connect.Session s, String queue, DeadLetterReason reason, int max) {
    return records(s, queue, reason, null, max);
  }

  /** Records of {@code queue} (or every queue), optionally with one reason and one type. */
  static List<DeadLetterRecord> records(
      Connect.Session s, String queue, DeadLetterReason reason, String type, int max) {
    List<DeadLetterRecord> all =
        s.sluice()
            .deadLetters()
            .list(
                Optional.ofNullable(checkQueue(queue)),
                Optional.ofNullable(reason),
                type == null ? max : Integer.MAX_VALUE);
    if (type == null) {
      return all;
    }
    List<DeadLetterRecord> out = new ArrayList<>();
    for (DeadLetterRecord r : all) {
      if (out.size() < max && type.equals(r.type().orElse(null))) {
        out.add(r);
      }
    }
    return out;
  }

  /** The {@code dlq list --json} document (also the console's {@code /api/queues/Q/dlq}). */
  static Map<String, Object> listDocument(List<DeadLetterRecord> recs) {
    List<Object> rs = new ArrayList<>();
    for (DeadLetterRecord mi : recs) {
      rs.add(recordJson(mi, false));
    }
    Map<String, Object> m = Json.obj();
    m.put("dead_letters", rs);
    return m;
  }

  /** The record with {@code seq} (of {@code queue} when given), or a not-found error. */
  static DeadLetterRecord record(Connect.Session s, String queue, long seq) {
    checkQueue(queue);
    return s.sluice()
        .deadLetters()
        .get(seq)
        .filter(r -> queue == null || r.queue().equals(queue))
        .orElseThrow(
            () ->
                CliException.notFound(
                    "no dead letter with sequence "
                        + seq
                        + (queue == null ? "" : " for queue " + queue)
                        + " (list them with 'sluice dlq list')"));
  }

  static Map<String, Object> recordJson(DeadLetterRecord r, boolean full) {
    StoredMessage mi = r.message();
    Map<String, Object> m = Json.obj();
    m.put("dlq_seq", r.sequence());
    m.put("queue", r.queue());
    m.put("reason", r.reasonCode().orElse(null));
    m.put("error", r.error().orElse(null));
    m.put("attempts", boxed(r.attempts()));
    m.put("original_msg_id", r.originalMessageId().orElse(null));
    m.put("type", r.type().orElse(null));
    m.put("type_version", Messages.number(mi, SluiceHeaders.TYPE_VERSION));
    m.put("worker", r.workerId().orElse(null));
    m.put("at_unix_ms", r.deadLetteredAt().map(Instant::toEpochMilli).orElse(null));
    m.put("stream_seq", boxed(r.streamSequence()));
    m.put("traceparent", Messages.first(mi, SluiceHeaders.TRACEPARENT));
    if (full) {
      m.put("headers", Messages.headers(mi));
      Messages.payload(m, mi.data(), 0);
    }
    return m;
  }

  private static Long boxed(OptionalLong v) {
    return v.isPresent() ? v.getAsLong() : null;
  }

  @Command(name = "list", description = "List dead letters with reason, error and attempts.")
  static final class ListCmd extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
    String queue;

    @Option(names = "--reason", paramLabel = "CODE", description = "Only this reason code.")
    String reason;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only this message type.")
    String type;

    @Mixin LimitOption limit;

    @Override
    int run(Connect.Session s) throws Exception {
      List<DeadLetterRecord> recs =
          records(s, queue, reason(reason), type, Math.max(1, limit.value));
      if (json()) {
        printJson(listDocument(recs));
        return ExitCodes.OK;
      }
      if (recs.isEmpty()) {
        out().println("no dead letters" + (queue == null ? "" : " for queue " + queue));
        out().flush();
        return ExitCodes.OK;
      }
      Table t = new Table("SEQ", "QUEUE", "REASON", "ATTEMPTS", "AGE", "TYPE", "MSG-ID", "ERROR");
      long now = System.currentTimeMillis();
      for (DeadLetterRecord mi : recs) {
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
      DeadLetterRecord mi = record(s, queue, seq);
      Map<String, Object> r = recordJson(mi, true);
      if (json()) {
        printJson(r);
        return ExitCodes.OK;
      }
      for (Map.Entry<String, Object> e : r.entrySet()) {
        if (e.getKey().equals("headers")) {
          out().println("headers:");
          for (Map.Entry<String, Object> h : Messages.headers(mi.message()).entrySet()) {
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

    @Option(
        names = "--type",
        paramLabel = "TYPE",
        description = "With --reason or --all: only records of this message type.")
    String type;

    @Option(names = "--limit", description = "Replay at most this many.")
    Integer limit;

    @Option(names = "--dry-run", description = "Say what would be replayed; change nothing.")
    boolean dryRun;

    @Override
    int run(Connect.Session s) throws Exception {
      int max = limit == null ? Integer.MAX_VALUE : Math.max(1, limit);
      Map<String, Object> m =
          DlqActions.replay(s, queue, selection.seq, reason(selection.reason), type, max, dryRun);
      String failure = (String) m.get("error");
      @SuppressWarnings("unchecked")
      List<Object> done = (List<Object>) m.get("records");
      if (json()) {
        printJson(m);
      } else {
        if (done.isEmpty() && failure == null) {
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
          out().println(m.get("replayed") + " replayed");
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
      checkQueue(queue);
      DeadLetterQueue dlq = s.sluice().deadLetters();
      if (!dlq.exists()) {
        throw CliException.notFound("stream SLUICE_DLQ does not exist");
      }
      long count = queue != null ? dlq.count(queue) : dlq.countAll();
      if (queue != null && count == 0 && !s.queues().contains(queue)) {
        // Dead letters of a deleted queue can still be purged; a name that is neither is a typo.
        throw QueueState.notFound(s, queue);
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
      Map<String, Object> m = DlqActions.purge(s, queue);
      if (json()) {
        printJson(m);
      } else {
        out().println("purged " + m.get("purged") + " dead letters");
        out().flush();
      }
      return ExitCodes.OK;
    }
  }
}
