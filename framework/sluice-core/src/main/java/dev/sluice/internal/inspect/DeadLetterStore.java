package dev.sluice.internal.inspect;

import dev.sluice.DeadLetterReason;
import dev.sluice.DeadLetterRecord;
import dev.sluice.PublishException;
import dev.sluice.QueueFullException;
import dev.sluice.ReplayResult;
import dev.sluice.SluiceHeaders;
import dev.sluice.StoredMessage;
import dev.sluice.internal.nats.ApiErrors;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.PurgeOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Dead-letter records in {@code SLUICE_DLQ} (PROTOCOL.md §8): reads them, replays them to their
 * work queue (§8.3) and purges them. Thread-safe (it keeps no state between calls).
 */
public final class DeadLetterStore {
  private static final int PAGE = 256;

  private final Connection nc;
  private final QueueReader queues;

  public DeadLetterStore(Connection nc, QueueReader queues) {
    this.nc = nc;
    this.queues = queues;
  }

  /** Whether {@code SLUICE_DLQ} exists. */
  public boolean exists() {
    return Io.call("reading stream " + Protocol.DLQ_STREAM, () -> exists(jsm()));
  }

  /**
   * Records of {@code queue} (every queue when null) with {@code reason} (any when null), oldest
   * first, at most {@code max}. None when the stream does not exist.
   */
  public List<DeadLetterRecord> list(String queue, DeadLetterReason reason, int max) {
    String subject = subject(queue);
    return Io.call(
        "listing dead letters",
        () -> {
          List<DeadLetterRecord> out = new ArrayList<>();
          if (!exists(jsm())) {
            return out;
          }
          long seq = 1;
          while (out.size() < max) {
            List<StoredMessage> page =
                StoredMessages.read(jsm(), Protocol.DLQ_STREAM, subject, seq, PAGE);
            if (page.isEmpty()) {
              break;
            }
            for (StoredMessage m : page) {
              DeadLetterRecord r = new DeadLetterRecord(m);
              if (out.size() < max
                  && (reason == null || r.reasonCode().filter(reason.code()::equals).isPresent())) {
                out.add(r);
              }
            }
            seq = page.get(page.size() - 1).sequence() + 1;
          }
          return out;
        });
  }

  /** The record at {@code sequence}, if it exists and is a dead letter. */
  public Optional<DeadLetterRecord> get(long sequence) {
    return Io.call(
        "reading dead letter " + sequence,
        () -> {
          if (!exists(jsm())) {
            return Optional.<DeadLetterRecord>empty();
          }
          return StoredMessages.get(jsm(), Protocol.DLQ_STREAM, sequence)
              .filter(m -> m.subject().startsWith(Protocol.dlqSubject("")))
              .map(DeadLetterRecord::new);
        });
  }

  /** Records stored for {@code queue} (every queue when null); 0 when the stream is missing. */
  public long count(String queue) {
    String subject = subject(queue);
    return Io.call(
        "counting dead letters",
        () -> {
          try {
            StreamInfo si =
                jsm().getStreamInfo(Protocol.DLQ_STREAM, StreamInfoOptions.filterSubjects(subject));
            return queue == null ? si.getStreamState().getMsgCount() : count(si, subject);
          } catch (JetStreamApiException e) {
            if (ApiErrors.streamNotFound(e)) {
              return 0L;
            }
            throw e;
          }
        });
  }

  /** The records of {@code queue}, or empty when {@code SLUICE_DLQ} does not exist. */
  static OptionalLong count(JetStreamManagement jsm, String queue)
      throws IOException, JetStreamApiException {
    String subject = Protocol.dlqSubject(queue);
    try {
      StreamInfo si =
          jsm.getStreamInfo(Protocol.DLQ_STREAM, StreamInfoOptions.filterSubjects(subject));
      return OptionalLong.of(count(si, subject));
    } catch (JetStreamApiException e) {
      if (ApiErrors.streamNotFound(e)) {
        return OptionalLong.empty();
      }
      throw e;
    }
  }

  /**
   * Publishes {@code record} back to its work queue with the §8.3 replay headers, waits for the
   * work stream to store it, then deletes the record.
   */
  public ReplayResult replay(DeadLetterRecord record) {
    String q = record.queue();
    Protocol.requireQueueName(q);
    if (record.message().header(SluiceHeaders.DLQ_PAYLOAD_LENGTH).isPresent()) {
      // §8.4: the record keeps only the payload's first bytes; replaying it would run a handler on
      // a message nobody sent.
      throw new PublishException(
          "dead letter "
              + record.sequence()
              + " holds a cut payload (original "
              + record.message().header(SluiceHeaders.DLQ_PAYLOAD_LENGTH).get()
              + " bytes, SHA-256 "
              + record.message().header(SluiceHeaders.DLQ_PAYLOAD_SHA256).orElse("?")
              + "): republish the original from its source instead of replaying it",
          null);
    }
    return Io.call(
        "replaying dead letter " + record.sequence(),
        () -> {
          queues.workStream(q); // a queue that is gone is not found, not a publish failure
          NatsMessage m =
              NatsMessage.builder()
                  .subject(Protocol.workSubject(q))
                  .headers(
                      DeadLetters.replayHeaders(
                          StoredMessages.toHeaders(record.message()), record.sequence()))
                  .data(record.message().data())
                  .build();
          PublishAck ack;
          try {
            ack = nc.jetStream().publish(m);
          } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == ApiErrors.MAX_MESSAGES) {
              throw new QueueFullException(
                  q, "queue " + q + " is at its hard limit (max_msgs); replay again later", e);
            }
            throw new PublishException(
                "publishing dead letter " + record.sequence() + " failed: " + e.getMessage(), e);
          }
          jsm().deleteMessage(Protocol.DLQ_STREAM, record.sequence());
          return new ReplayResult(
              record.sequence(), q, record.replayMessageId(), ack.getSeqno(), ack.isDuplicate());
        });
  }

  /** Deletes the records of {@code queue} (every queue when null); returns how many. */
  public long purge(String queue) {
    String subject = subject(queue);
    return Io.call(
        "purging dead letters",
        () -> {
          if (!exists(jsm())) {
            return 0L;
          }
          return jsm()
              .purgeStream(Protocol.DLQ_STREAM, PurgeOptions.builder().subject(subject).build())
              .getPurged();
        });
  }

  private static String subject(String queue) {
    return queue == null
        ? Protocol.dlqSubject(">")
        : Protocol.dlqSubject(Protocol.requireQueueName(queue));
  }

  private static boolean exists(JetStreamManagement jsm) throws IOException, JetStreamApiException {
    try {
      jsm.getStreamInfo(Protocol.DLQ_STREAM);
      return true;
    } catch (JetStreamApiException e) {
      if (ApiErrors.streamNotFound(e)) {
        return false;
      }
      throw e;
    }
  }

  private static long count(StreamInfo si, String subject) {
    long n = 0;
    List<Subject> subjects = si.getStreamState().getSubjects();
    if (subjects != null) {
      for (Subject s : subjects) {
        if (s.getName().equals(subject)) {
          n += s.getCount();
        }
      }
    }
    return n;
  }

  private JetStreamManagement jsm() throws IOException {
    return nc.jetStreamManagement();
  }
}
