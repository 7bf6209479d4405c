package dev.sluice.cli;

import dev.sluice.DeadLetterQueue;
import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.PublishException;
import dev.sluice.QueueFullException;
import dev.sluice.ReplayResult;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The dead-letter repairs, replay and purge, shared by {@code sluice dlq} and the console. */
final class DlqActions {
  private DlqActions() {}

  /**
   * Replays the record {@code seq}, or those matching {@code reason} and {@code type} (null: any),
   * up to {@code max}; the {@code dlq replay --json} document (also the console's {@code POST
   * /api/queues/Q/dlq/replay}). A refused publish stops the replay and is its {@code error}.
   */
  static Map<String, Object> replay(
      Connect.Session s,
      String queue,
      Long seq,
      DeadLetterReason reason,
      String type,
      int max,
      boolean dryRun) {
    List<DeadLetterRecord> recs =
        seq != null
            ? List.of(DlqCommand.record(s, queue, seq))
            : DlqCommand.records(s, queue, reason, type, max);
    Set<String> present = new HashSet<>();
    List<Object> done = new ArrayList<>();
    String failure = null;
    int replayed = 0;
    for (DeadLetterRecord mi : recs) {
      String q = mi.queue();
      if (!present.contains(q)) {
        QueueState.read(s, q); // not found -> exit 4
        present.add(q);
      }
      Map<String, Object> r = Json.obj();
      r.put("dlq_seq", mi.sequence());
      r.put("queue", q);
      r.put("original_msg_id", mi.originalMessageId().orElse(null));
      r.put("replay_msg_id", mi.replayMessageId());
      if (!dryRun) {
        ReplayResult result;
        try {
          result = s.sluice().deadLetters().replay(mi);
        } catch (QueueFullException | PublishException e) {
          failure = e.getMessage();
          break;
        }
        r.put("work_seq", result.workSequence());
        r.put("duplicate", result.duplicate());
        replayed++;
      }
      done.add(r);
    }
    Map<String, Object> m = Json.obj();
    m.put("dry_run", dryRun);
    m.put("replayed", dryRun ? 0 : replayed);
    m.put("records", done);
    m.put("error", failure);
    return m;
  }

  /**
   * Purges the dead letters of {@code queue} (null: every queue); the {@code dlq purge --json}
   * document (also the console's {@code POST /api/queues/Q/dlq/purge}).
   */
  static Map<String, Object> purge(Connect.Session s, String queue) {
    DlqCommand.checkQueue(queue);
    DeadLetterQueue dlq = s.sluice().deadLetters();
    if (!dlq.exists()) {
      throw CliException.notFound("stream SLUICE_DLQ does not exist");
    }
    long purged = queue != null ? dlq.purge(queue) : dlq.purgeAll();
    Map<String, Object> m = Json.obj();
    m.put("queue", queue);
    m.put("purged", purged);
    return m;
  }
}
