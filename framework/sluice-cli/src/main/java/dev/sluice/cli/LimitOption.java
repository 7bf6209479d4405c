package dev.sluice.cli;

import picocli.CommandLine.Option;

/**
 * The {@code --limit} option of the listing subcommands ({@code dlq list}, {@code scheduled list}):
 * at most this many rows, 1000 unless given. Each command decides what a limit under 1 means.
 */
final class LimitOption {
  @Option(
      names = "--limit",
      defaultValue = "1000",
      description = "At most this many (default ${DEFAULT-VALUE}).")
  int value;
}
