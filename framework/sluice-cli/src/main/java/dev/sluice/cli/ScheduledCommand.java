package dev.sluice.cli;

import dev.sluice.ScheduledMessage;
import dev.sluice.Schedules;
import dev.sluice.TopologyException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "scheduled",
    description =
        "List, show and cancel a queue's scheduled messages (stream SLUICE_SCHED_<queue>, §13).",
    subcommands = {
      ScheduledCommand.ListCmd.class,
      ScheduledCommand.ShowCmd.class,
      ScheduledCommand.CancelCmd.class
    })
final class ScheduledCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  static Schedules schedules(Connect.Session s, String queue) {
    DlqCommand.checkQueue(queue);
    return s.sluice().schedules(queue);
  }

  /** One schedule as JSON; with {@code full}, its headers and payload too. */
  static Map<String, Object> entryJson(ScheduledMessage m, Instant now, boolean full) {
    Map<String, Object> j = Json.obj();
    j.put("id", m.id());
    j.put("due_unix_ms", m.dueAt().toEpochMilli());
    j.put("late_ms", m.lateness(now).toMillis());
    j.put("cron", m.cron());
    j.put("zone", m.zone());
    j.put("type", m.type());
    j.put("type_version", m.version());
    j.put("producer", m.producer());
    j.put("created_unix_ms", m.createdAt() == null ? null : m.createdAt().toEpochMilli());
    j.put("seq", m.sequence());
    j.put("traceparent", m.traceparent());
    j.put("size", m.payload().length);
    if (full) {
      j.put("headers", m.headers());
      j.put("payload", new String(m.payload(), StandardCharsets.UTF_8));
    }
    return j;
  }

  /**
   * The scheduling part of {@code status}: count, next due time, overdue count; null when the queue
   * has no schedule stream (provisioned before scheduling existed).
   */
  static Map<String, Object> summaryJson(Connect.Session s, String queue) {
    Schedules.Summary sum;
    try {
      sum = s.sluice().schedules(queue).summary(Instant.now());
    } catch (TopologyException noStream) {
      return null;
    }
    Map<String, Object> j = Json.obj();
    j.put("count", sum.count());
    j.put("next_due_unix_ms", sum.nextDue().map(Instant::toEpochMilli).orElse(null));
    j.put("overdue", sum.overdue());
    j.put("oldest_late_ms", sum.oldestLateness().toMillis());
    j.put("firer", sum.firer().orElse(null));
    return j;
  }

  /** The status table's cell: "-", "0", or "12, next in 5m". */
  static String cell(Map<String, Object> summary) {
    if (summary == null) {
      return "-";
    }
    Object next = summary.get("next_due_unix_ms");
    if (next == null) {
      return String.valueOf(summary.get("count"));
    }
    return summary.get("count")
        + ", next "
        + due(Instant.ofEpochMilli((Long) next), Instant.now())
        + (summary.get("firer") == null ? ", no scheduler" : "");
  }

  /** "in 5m" / "3s late" for a table cell. */
  static String due(Instant due, Instant now) {
    long ms = due.toEpochMilli() - now.toEpochMilli();
    return ms >= 0 ? "in " + Table.age(ms) : Table.age(-ms) + " late";
  }

  @Command(name = "list", description = "List scheduled messages, earliest due first.")
  static final class ListCmd extends BaseCommand {
    @Parameters(index = "0", paramLabel = "QUEUE", description = "The queue.")
    String queue;

    @Mixin LimitOption limit;

    @Override
    int run(Connect.Session s) throws Exception {
      int max = limit.value;
      if (max < 1) {
        throw CliException.usage("--limit must be at least 1, got " + max);
      }
      Schedules sch = schedules(s, queue);
      List<ScheduledMessage> all = sch.list(max);
      Instant now = Instant.now();
      if (json()) {
        List<Object> rows = new ArrayList<>();
        for (ScheduledMessage m : all) {
          rows.add(entryJson(m, now, false));
        }
        Map<String, Object> j = Json.obj();
        j.put("queue", queue);
        j.put("count", sch.count());
        j.put("scheduled", rows);
        printJson(j);
        return ExitCodes.OK;
      }
      if (all.isEmpty()) {
        out().println("nothing scheduled for queue " + queue);
        out().flush();
        return ExitCodes.OK;
      }
      Table t = new Table("ID", "DUE", "WHEN", "CRON", "TYPE", "VERSION", "PRODUCER", "SIZE");
      for (ScheduledMessage m : all) {
        t.row(
            m.id(),
            m.dueAt(),
            due(m.dueAt(), now),
            m.cron() == null ? "-" : m.cron() + " " + m.zone(),
            m.type(),
            m.version(),
            m.producer(),
            m.payload().length);
      }
      t.print(out());
      out().println(all.size() + " of " + sch.count() + " scheduled messages shown");
      out().flush();
      return ExitCodes.OK;
    }
  }

  /** A subcommand that names one schedule of one queue: {@code QUEUE ID}. */
  abstract static class EntryCmd extends BaseCommand {
    @Parameters(index = "0", paramLabel = "QUEUE", description = "The queue.")
    String queue;

    @Parameters(index = "1", paramLabel = "ID", description = "Message id or schedule id.")
    String id;
  }

  @Command(name = "show", description = "Show one scheduled message with its headers.")
  static final class ShowCmd extends EntryCmd {
    @Override
    int run(Connect.Session s) throws Exception {
      ScheduledMessage m =
          schedules(s, queue)
              .find(id)
              .orElseThrow(
                  () ->
                      CliException.notFound(
                          "nothing scheduled under '"
                              + id
                              + "' for queue "
                              + queue
                              + " (it fired or was cancelled; list them with 'sluice scheduled"
                              + " list "
                              + queue
                              + "')"));
      Map<String, Object> j = entryJson(m, Instant.now(), true);
      if (json()) {
        printJson(j);
        return ExitCodes.OK;
      }
      for (Map.Entry<String, Object> e : j.entrySet()) {
        out().println(e.getKey() + ": " + e.getValue());
      }
      out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(name = "cancel", description = "Cancel a scheduled message or a recurring schedule.")
  static final class CancelCmd extends EntryCmd {
    @Override
    int run(Connect.Session s) throws Exception {
      boolean removed = schedules(s, queue).cancel(id);
      if (json()) {
        Map<String, Object> j = Json.obj();
        j.put("queue", queue);
        j.put("id", id);
        j.put("cancelled", removed);
        printJson(j);
      } else {
        out()
            .println(
                removed
                    ? "cancelled " + id + " of queue " + queue
                    : "nothing scheduled under '" + id + "' for queue " + queue);
        out().flush();
      }
      return removed ? ExitCodes.OK : ExitCodes.NOT_FOUND;
    }
  }
}
