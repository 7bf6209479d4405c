package dev.sluice.cli;

import dev.sluice.Permissions;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice permissions --role R --queue Q}: the least NATS permissions of a Sluice role on a
 * queue, as a nats-server {@code authorization} user block or (with {@code --json}) in the server's
 * permission structure. Needs no server: the sets come from {@link Permissions}.
 */
@Command(
    name = "permissions",
    mixinStandardHelpOptions = true,
    description = {
      "Print the least NATS permissions of a role on a queue: a nats-server 'permissions' block"
          + " for an authorization or account user, or with --json"
          + " {\"publish\": {\"allow\", \"deny\"}, \"subscribe\": {\"allow\", \"deny\"}}.",
      "A producer may not publish tokens or adverts: it cannot raise the window. See"
          + " docs/SECURITY.md."
    })
final class PermissionsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--role",
      required = true,
      paramLabel = "ROLE",
      description = "producer, worker or operator.")
  String role;

  @Option(names = "--queue", required = true, paramLabel = "Q", description = "The queue.")
  String queue;

  @Override
  public Integer call() {
    SluiceCli root = (SluiceCli) spec.root().userObject();
    PrintWriter out = spec.commandLine().getOut();
    Permissions p;
    try {
      p = Permissions.of(Permissions.Role.parse(role), queue);
    } catch (IllegalArgumentException e) {
      if (!root.json) {
        throw CliException.usage(e.getMessage());
      }
      out.println(Json.write(ExitCodes.errorDocument(e.getMessage(), ExitCodes.USAGE)));
      out.flush();
      return ExitCodes.USAGE;
    }
    out.print(root.json ? Json.write(p.toMap()) + "\n" : p.toServerConfig());
    out.flush();
    return ExitCodes.OK;
  }
}
