package dev.sluice.cli;

import dev.sluice.StoredMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "peek",
    description =
        "Show the oldest messages of a queue with their Sluice headers, without consuming them.")
final class PeekCommand extends BaseCommand {
  @Parameters(index = "0", paramLabel = "QUEUE", description = "The queue.")
  String queue;

  @Option(
      names = {"-n", "--count"},
      defaultValue = "10",
      description = "Messages to show (default ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--from-seq", description = "Start at this stream sequence (default: oldest).")
  long fromSeq;

  @Option(names = "--full", description = "Print whole payloads (default: the first 200 chars).")
  boolean full;

  @Override
  int run(Connect.Session s) throws Exception {
    if (count < 1) {
      throw CliException.usage("--count must be at least 1, got " + count);
    }
    QueueState st = QueueState.read(s, queue);
    List<StoredMessage> msgs = s.sluice().peek(queue, fromSeq, count);
    long now = System.currentTimeMillis();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (StoredMessage mi : msgs) {
      rows.add(Messages.work(mi, now, full ? 0 : 200));
    }
    if (json()) {
      Map<String, Object> m = Json.obj();
      m.put("queue", queue);
      m.put("backlog", st.backlog());
      m.put("messages", rows);
      printJson(m);
      return ExitCodes.OK;
    }
    if (rows.isEmpty()) {
      out().println("queue " + queue + " is empty");
      out().flush();
      return ExitCodes.OK;
    }
    Table t =
        new Table(
            "SEQ", "AGE", "MSG-ID", "TYPE", "VERSION", "PROTO", "PRODUCER", "SIZE", "PAYLOAD");
    for (Map<String, Object> r : rows) {
      String p = String.valueOf(r.get("payload")).replace('\n', ' ');
      t.row(
          r.get("seq"),
          Table.age((Long) r.get("age_ms")),
          r.get("msg_id"),
          r.get("type"),
          r.get("type_version"),
          r.get("protocol"),
          r.get("producer"),
          r.get("size"),
          full || p.length() <= 40 ? p : p.substring(0, 40) + "…");
    }
    t.print(out());
    out().println(rows.size() + " of " + st.backlog() + " stored messages shown");
    out().flush();
    return ExitCodes.OK;
  }
}
