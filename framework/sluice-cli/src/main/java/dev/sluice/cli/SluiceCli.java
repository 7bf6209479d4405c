package dev.sluice.cli;

import java.io.PrintWriter;
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
      UiCommand.class,
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
      names = "--no-color",
      scope = ScopeType.INHERIT,
      description = "No colour even on a terminal (also when NO_COLOR is set).")
  boolean noColor;

  @Option(
      names = {"-v", "--verbose"},
      scope = ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  @Spec CommandSpec spec;

  /** The terminal to print to; null: detect it when a command asks. */
  private final Terminal terminal;

  SluiceCli() {
    this(null);
  }

  private SluiceCli(Terminal terminal) {
    this.terminal = terminal;
  }

  /** Whether stdout is a terminal, its width, and whether to colour. */
  Terminal terminal() {
    return terminal != null ? terminal : Terminal.detect(noColor);
  }

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
    return commandLine(null);
  }

  /** As {@link #commandLine()}, printing as to {@code terminal} (null: detect it). */
  static CommandLine commandLine(Terminal terminal) {
    CommandLine cl = new CommandLine(new SluiceCli(terminal));
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    // Help fills the terminal's width (picocli asks the terminal) instead of 80 columns.
    cl.setUsageHelpAutoWidth(true);
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
   * ..., "exit_meaning": ...}} on stdout, where a script reading the command's JSON looks for it.
   */
  private static void report(CommandLine c, boolean json, String message, int code) {
    if (json) {
      PrintWriter out = c.getOut();
      out.println(Json.write(ExitCodes.errorDocument(message, code)));
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

  /**
   * The build's version: the jar manifest's {@code Implementation-Version} when present, else the
   * {@code version.properties} that Maven writes at build time.
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {
        "sluice " + version() + " (protocol sluice/v" + dev.sluice.Sluice.PROTOCOL_VERSION + ")"
      };
    }

    static String version() {
      String v = SluiceCli.class.getPackage().getImplementationVersion();
      if (v != null && !v.isBlank()) {
        return v;
      }
      try (java.io.InputStream in = SluiceCli.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          java.util.Properties p = new java.util.Properties();
          p.load(in);
          String filtered = p.getProperty("version");
          if (filtered != null && !filtered.isBlank() && !filtered.startsWith("${")) {
            return filtered;
          }
        }
      } catch (java.io.IOException e) {
        // fall through: no version recorded
      }
      return "unknown (built outside Maven)";
    }
  }

  /**
   * Parses {@code 500ms}, {@code 2s}, {@code 1m30s}, {@code 1h} or ISO-8601 {@code PT2S} with
   * {@link java.time.Duration#parse}: the short forms are ISO-8601 without the {@code PT}.
   */
  static final class DurationConverter implements CommandLine.ITypeConverter<java.time.Duration> {
    @Override
    public java.time.Duration convert(String value) {
      String v = value.trim().toUpperCase(java.util.Locale.ROOT);
      try {
        if (v.matches("\\d+MS")) {
          return java.time.Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        if (v.matches("\\d+")) {
          return java.time.Duration.ofSeconds(Long.parseLong(v));
        }
        java.time.Duration d = java.time.Duration.parse(v.startsWith("P") ? v : "PT" + v);
        if (d.isNegative()) {
          throw new IllegalArgumentException("negative");
        }
        return d;
      } catch (RuntimeException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not a duration (examples: 500ms, 2s, 1m30s, PT2S)");
      }
    }
  }
}
