package dev.sluice;

import java.util.List;

/**
 * What applying a topology did, object by object. Applying the same topology twice gives a report
 * whose {@link #changed()} is false the second time.
 */
public record ApplyReport(List<Change> changes) {
  /** What happened to one stream, consumer or queue setting. */
  public enum Action {
    CREATED,
    UPDATED,
    UNCHANGED,
    /** The server's object differs in a way JetStream does not allow to update. */
    CONFLICT,
    /** Nothing was changed because this was a dry run; {@code diffs} say what would change. */
    WOULD_CHANGE,
    /** Nothing was created because this was a dry run; the object does not exist yet. */
    WOULD_CREATE
  }

  /**
   * One object's outcome.
   *
   * @param kind "stream", "consumer" or "queue"
   * @param name the object's name ({@code stream/consumer} for consumers)
   * @param source the file it came from, or "generated"
   * @param diffs one line per differing field: {@code field: server=X, wanted=Y}
   */
  public record Change(
      String kind, String name, String source, Action action, List<String> diffs) {}

  public ApplyReport {
    changes = List.copyOf(changes);
  }

  /** True when anything was created or updated (or would be, in a dry run). */
  public boolean changed() {
    return changes.stream().anyMatch(c -> c.action() != Action.UNCHANGED);
  }

  /** True when some object could not be brought to the wanted configuration. */
  public boolean hasConflicts() {
    return changes.stream().anyMatch(c -> c.action() == Action.CONFLICT);
  }
}
