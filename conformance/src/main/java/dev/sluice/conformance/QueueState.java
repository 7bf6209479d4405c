package dev.sluice.conformance;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What the server holds for a queue, read straight from JetStream (§2 topology): backlog, stored
 * credits, dead-letter records, KV keys. Thread-safe (jnats connections are).
 */
final class QueueState {
  private final Connection nc;
  private final JetStreamManagement jsm;

  QueueState(Connection nc) throws IOException {
    this.nc = nc;
    this.jsm = nc.jetStreamManagement();
  }

  /** B: messages stored in the work stream {@code SLUICE_Q_<queue>}. */
  long backlog(String queue) throws IOException, JetStreamApiException {
    return jsm.getStreamInfo("SLUICE_Q_" + queue).getStreamState().getMsgCount();
  }

  /** T: credits stored for the queue, Σ n × count(sluice.credit.q.n) (§5.3). */
  long tokens(String queue) throws IOException, JetStreamApiException {
    String filter = "sluice.credit." + queue + ".>";
    StreamInfo si = jsm.getStreamInfo("SLUICE_CREDITS", StreamInfoOptions.filterSubjects(filter));
    long t = 0;
    List<Subject> subjects = si.getStreamState().getSubjects();
    if (subjects != null) {
      for (Subject sub : subjects) {
        String n = sub.getName().substring(sub.getName().lastIndexOf('.') + 1);
        t += Long.parseLong(n) * sub.getCount();
      }
    }
    return t;
  }

  /** The dead-letter records of the queue in {@code SLUICE_DLQ}, oldest first. */
  List<MessageInfo> deadLetters(String queue) throws IOException {
    return messages("SLUICE_DLQ", "sluice.dlq." + queue, Integer.MAX_VALUE);
  }

  private List<MessageInfo> messages(String stream, String subject, int limit) throws IOException {
    List<MessageInfo> out = new ArrayList<>();
    long seq = 1;
    while (out.size() < limit) {
      MessageInfo mi;
      try {
        mi = jsm.getNextMessage(stream, seq, subject);
      } catch (JetStreamApiException e) {
        break; // no more
      }
      if (mi == null) {
        break;
      }
      out.add(mi);
      seq = mi.getSeq() + 1;
    }
    return out;
  }

  /** Null when the key is absent or deleted, else a short description of the entry. */
  String kvState(String bucket, String key) {
    try {
      KeyValueEntry e = nc.keyValue(bucket).get(key);
      if (e == null || e.getOperation() != KeyValueOperation.PUT) {
        return null;
      }
      return "still present (revision " + e.getRevision() + ")";
    } catch (Exception ex) {
      return "unreadable: " + ex;
    }
  }
}
