package dev.sluice.cli.console;

import java.util.List;

/**
 * What the console reads and changes, as the CLI's {@code --json} documents: each method returns
 * the exact text the matching command prints, so the HTTP API and the CLI cannot drift apart. A
 * failure is an {@link ApiException} with the CLI's message and exit code.
 */
public interface Backend {
  /** The NATS server URL the console is connected (or reconnecting) to. */
  String server();

  /** True while the NATS connection is up. */
  boolean connected();

  /** The dead-letter reason codes, for the browser's filter. */
  List<String> reasons();

  /** {@code sluice status --json}. */
  String queues();

  /** {@code sluice status Q --json}. */
  String queue(String queue);

  /** {@code sluice workers Q --json}. */
  String workers(String queue);

  /** {@code sluice credits Q --json}. */
  String credits(String queue);

  /** {@code sluice explain Q --json}. */
  String explain(String queue);

  /** {@code sluice dlq list Q [--reason R] [--type T] --limit N --json}; null means no filter. */
  String deadLetters(String queue, String reason, String type, int limit);

  /** {@code sluice dlq show Q --seq N --json}. */
  String deadLetter(String queue, long seq);

  /**
   * The dead letters whose original message id is {@code msgId}, with every header, payload and the
   * W3C trace id: {@code {"msg_id", "trace_id", "dead_letters": [dlq show documents]}}.
   */
  String message(String msgId);

  /**
   * {@code sluice dlq replay Q (--seq N | --reason R | --all) [--type T] [--limit N] [--dry-run]
   * --json}. A document whose {@code error} is not null stopped part way.
   */
  String replay(
      String queue,
      Long seq,
      String reason,
      String type,
      boolean all,
      Integer limit,
      boolean dryRun);

  /** {@code sluice dlq purge Q --yes --json}. */
  String purge(String queue);
}
