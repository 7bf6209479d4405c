package dev.sluice.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The Sluice operator CLI ({@code scripts/sluice}). Every command connects to one NATS server,
 * reads or changes Sluice's JetStream objects, and prints a table (or JSON with {@code --json}).
 * Exit codes: see {@link ExitCodes} and docs/CLI.md.
 */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    versionProvider = SluiceCli.Version.class,
    description = "Operate Sluice work queues on NATS JetStream.",
    subcommands = {
      StatusCommand.class,
      WorkersCommand.class,
      CreditsCommand.class,
      PeekCommand.class,
      DlqCommand.class,
      ScheduledCommand.class,
      ApplyCommand.class,
      ExplainCommand.class,
      TopCommand.class,
      PermissionsCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Exit codes: 0 ok, 1 unhealthy or a finding, 2 usage error, 3 cannot connect or"
          + " authenticate, 4 not found."
    })
public final class SluiceCli implements Callable<Integer> {
  @Option(
      names = {"-s", "--server"},
      scope = ScopeType.INHERIT,
      defaultValue = "${env:NATS_URL:-nats://127.0.0.1:4222}",
      description = "NATS server URL(s), comma-separated (env NATS_URL; default ${DEFAULT-VALUE}).")
  String server;

  @Option(names = "--user", scope = ScopeType.INHERIT, description = "User name.")
  String user;

  @Option(names = "--password", scope = ScopeType.INHERIT, description = "Password (with --user).")
  String password;

  @Option(names = "--token", scope = ScopeType.INHERIT, description = "Authentication token.")
  String token;

  @Option(
      names = "--creds",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "User credentials file (JWT + NKey seed).")
  String creds;

  @Option(
      names = "--nkey",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "NKey seed file.")
  String nkey;

  @Option(
      names = "--tlscert",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "Client certificate (PEM) for TLS client authentication.")
  String tlsCert;

  @Option(
      names = "--tlskey",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "Client private key (PEM, PKCS#8) for --tlscert.")
  String tlsKey;

  @Option(
      names = "--tlsca",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "CA certificate(s) (PEM) to verify the server with.")
  String tlsCa;

  @Option(
      names = "--timeout",
      scope = ScopeType.INHERIT,
      defaultValue = "5s",
      converter = DurationConverter.class,
      description = "Connect and request timeout (default ${DEFAULT-VALUE}).")
  java.time.Duration timeout;

  @Option(
      names = {"-j", "--json"},
      scope = ScopeType.INHERIT,
      description = "Print JSON instead of a table.")
  boolean json;

  @Option(
      names = {"-v", "--verbose"},
      scope = ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  /** Connection settings from the global options. */
  Connect connect() {
    return new Connect(this);
  }

  /** The command line with Sluice's error handling: one line per error, exit codes. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new SluiceCli());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine c = ex.getCommandLine();
          String message =
              ex.getMessage() + " (try '" + c.getCommandSpec().qualifiedName() + " --help')";
          // The root's --json may not have been parsed yet when the arguments are bad.
          boolean json =
              java.util.Arrays.asList(args).contains("--json")
                  || java.util.Arrays.asList(args).contains("-j");
          report(c, json, message, ExitCodes.USAGE);
          return ExitCodes.USAGE;
        });
    cl.setExecutionExceptionHandler(
        (ex, c, parseResult) -> {
          SluiceCli root = (SluiceCli) c.getCommandSpec().root().userObject();
          PrintWriter err = c.getErr();
          int code;
          String message;
          if (ex instanceof CliException ce) {
            code = ce.exitCode();
            message = ce.getMessage();
          } else {
            CliException mapped = Errors.map(ex);
            code = mapped.exitCode();
            message = mapped.getMessage();
          }
          report(c, root.json, message, code);
          if (root.verbose) {
            ex.printStackTrace(err);
            err.flush();
          }
          return code;
        });
    return cl;
  }

  /**
   * An error, as one line on stderr, or with {@code --json} as {@code {"error": ..., "exit_code":
   * ...}} on stdout, where a script reading the command's JSON looks for it.
   */
  private static void report(CommandLine c, boolean json, String message, int code) {
    if (json) {
      Map<String, Object> e = Json.obj();
      e.put("error", message);
      e.put("exit_code", code);
      PrintWriter out = c.getOut();
      out.println(Json.write(e));
      out.flush();
    } else {
      PrintWriter err = c.getErr();
      err.println("sluice: " + message);
      err.flush();
    }
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = SluiceCli.class.getPackage().getImplementationVersion();
      return new String[] {
        "sluice "
            + (v == null ? "dev" : v)
            + " (protocol sluice/v"
            + dev.sluice.Sluice.PROTOCOL_VERSION
            + ")"
      };
    }
  }

  /** Parses {@code 500ms}, {@code 2s}, {@code 1m}, or ISO-8601 {@code PT2S}. */
  static final class DurationConverter implements CommandLine.ITypeConverter<java.time.Duration> {
    @Override
    public java.time.Duration convert(String value) {
      String v = value.trim().toLowerCase(java.util.Locale.ROOT);
      try {
        if (v.startsWith("pt") || v.startsWith("p")) {
          return java.time.Duration.parse(value);
        }
        if (v.endsWith("ms")) {
          return java.time.Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        if (v.endsWith("s")) {
          return java.time.Duration.ofMillis(
              Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
        }
        if (v.endsWith("m")) {
          return java.time.Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
        }
        if (v.endsWith("h")) {
          return java.time.Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
        }
        return java.time.Duration.ofSeconds(Long.parseLong(v));
      } catch (RuntimeException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not a duration (examples: 500ms, 2s, 1m)");
      }
    }
  }
}
