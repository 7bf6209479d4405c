package dev.sluice.cli;

import dev.sluice.ApplyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "apply",
    description = {
      "Create or update streams, consumers and queue settings from a jetstream-config directory"
          + " (streams/, consumers/, queues/).",
      "Exit code 1 when an object conflicts with the server's and cannot be updated."
    })
final class ApplyCommand extends BaseCommand {
  @Parameters(
      index = "0",
      arity = "0..1",
      defaultValue = "jetstream-config",
      paramLabel = "PATH",
      description = "The directory (default ${DEFAULT-VALUE}).")
  Path path;

  @Option(names = "--dry-run", description = "Show what would change; change nothing.")
  boolean dryRun;

  @Override
  int run(Connect.Session s) throws Exception {
    if (!Files.isDirectory(path)) {
      throw CliException.notFound(
          "no directory " + path.toAbsolutePath() + " (give the jetstream-config path)");
    }
    ApplyReport report = s.sluice().apply(path, dryRun);
    if (json()) {
      Map<String, Object> m = Json.obj();
      m.put("dry_run", dryRun);
      m.put("changed", report.changed());
      m.put("conflicts", report.hasConflicts());
      List<Object> cs = new ArrayList<>();
      for (ApplyReport.Change c : report.changes()) {
        Map<String, Object> o = Json.obj();
        o.put("kind", c.kind());
        o.put("name", c.name());
        o.put("source", c.source());
        o.put("action", c.action().name().toLowerCase(Locale.ROOT));
        o.put("diffs", c.diffs());
        cs.add(o);
      }
      m.put("changes", cs);
      printJson(m);
    } else {
      Table t = new Table("ACTION", "KIND", "NAME", "SOURCE");
      for (ApplyReport.Change c : report.changes()) {
        t.row(
            c.action().name().toLowerCase(Locale.ROOT).replace('_', '-'),
            c.kind(),
            c.name(),
            c.source());
      }
      t.print(out());
      for (ApplyReport.Change c : report.changes()) {
        boolean created =
            c.action() == ApplyReport.Action.CREATED
                || c.action() == ApplyReport.Action.WOULD_CREATE;
        if (!c.diffs().isEmpty() && !created) {
          out().println(c.kind() + " " + c.name() + ":");
          for (String d : c.diffs()) {
            out().println("  " + d);
          }
        }
      }
      long creates = count(report, ApplyReport.Action.WOULD_CREATE);
      long changes = count(report, ApplyReport.Action.WOULD_CHANGE);
      out()
          .println(
              (dryRun
                      ? "dry run: "
                          + (report.changed()
                              ? "would create " + creates + " and change " + changes + " objects"
                              : "no changes")
                      : report.changed() ? "changes applied" : "no changes")
                  + (report.hasConflicts() ? "; conflicts need manual action" : ""));
      out().flush();
    }
    return report.hasConflicts() ? ExitCodes.FINDING : ExitCodes.OK;
  }

  private static long count(ApplyReport report, ApplyReport.Action action) {
    return report.changes().stream().filter(c -> c.action() == action).count();
  }
}
