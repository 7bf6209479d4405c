package dev.sluice.internal.inspect;

import dev.sluice.AdvertBounds;
import dev.sluice.ConsumerStatus;
import dev.sluice.ProducerReport;
import dev.sluice.QueueInspection;
import dev.sluice.QueueNotFoundException;
import dev.sluice.ReconcilerLease;
import dev.sluice.WorkerAdvert;
import dev.sluice.internal.credit.Ledgers;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.Rates;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.nats.ApiErrors;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * Reads one queue's streams, consumer and KV entries into a {@link QueueInspection}. Consumes
 * nothing and changes nothing. Thread-safe (it keeps no state between calls).
 */
public final class QueueReader {
  private final Connection nc;
  private final Clock clock;

  public QueueReader(Connection nc, Clock clock) {
    this.nc = nc;
    this.clock = clock;
  }

  /** Names of every Sluice queue on the server (streams {@code SLUICE_Q_*}), sorted. */
  public List<String> queues() {
    String prefix = Protocol.workStream("");
    return Io.call(
        "listing queues",
        () -> {
          List<String> out = new ArrayList<>();
          for (String s : jsm().getStreamNames()) {
            if (s.startsWith(prefix)) {
              out.add(s.substring(prefix.length()));
            }
          }
          out.sort(null);
          return out;
        });
  }

  /** Reads queue {@code q}; throws {@link QueueNotFoundException} when it has no work stream. */
  public QueueInspection inspect(String q) {
    Protocol.requireQueueName(q);
    return Io.call("inspecting queue " + q, () -> read(q));
  }

  /** B: messages stored in the work stream of {@code q}. */
  public long backlog(String q) {
    Protocol.requireQueueName(q);
    return Io.call(
        "reading the backlog of " + q, () -> workStream(q).getStreamState().getMsgCount());
  }

  /** Up to {@code max} credit tokens stored for {@code q}, oldest first. */
  public List<dev.sluice.CreditToken> creditTokens(String q, int max) {
    Protocol.requireQueueName(q);
    return Io.call(
        "reading the credit tokens of " + q,
        () -> {
          workStream(q);
          try {
            return StoredMessages.read(
                    jsm(), Protocol.CREDIT_STREAM, Protocol.creditFilter(q), 1, max)
                .stream()
                .map(Snapshots::token)
                .toList();
          } catch (JetStreamApiException e) {
            if (ApiErrors.streamNotFound(e)) {
              return List.<dev.sluice.CreditToken>of();
            }
            throw e;
          }
        });
  }

  /** Up to {@code max} stored messages of {@code q} from {@code from} on (the oldest when 0). */
  public List<dev.sluice.StoredMessage> peek(String q, long from, int max) {
    Protocol.requireQueueName(q);
    return Io.call(
        "peeking at queue " + q,
        () -> {
          long start = from > 0 ? from : workStream(q).getStreamState().getFirstSequence();
          return StoredMessages.read(
              jsm(), Protocol.workStream(q), Protocol.workSubject(q), start, max);
        });
  }

  /** The work stream's info; throws {@link QueueNotFoundException} when it does not exist. */
  public StreamInfo workStream(String q) throws IOException, JetStreamApiException {
    try {
      return jsm().getStreamInfo(Protocol.workStream(q));
    } catch (JetStreamApiException e) {
      if (ApiErrors.streamNotFound(e)) {
        throw notFound(q);
      }
      throw e;
    }
  }

  /** The error for a queue without a work stream, naming the stream and how to create it. */
  public static QueueNotFoundException notFound(String q) {
    return new QueueNotFoundException(
        q,
        "queue '"
            + q
            + "' not found: no stream "
            + Protocol.workStream(q)
            + " (create it with Sluice.provision(QueueSpec.of(\""
            + q
            + "\")) or 'sluice apply')");
  }

  private QueueInspection read(String q)
      throws IOException, JetStreamApiException, InterruptedException {
    StreamInfo work = workStream(q);
    ConsumerInfo ci = null;
    try {
      ci = jsm().getConsumerInfo(Protocol.workStream(q), Protocol.WORKER_CONSUMER);
    } catch (JetStreamApiException e) {
      if (!ApiErrors.consumerNotFound(e)) {
        throw e;
      }
    }
    List<CapacityAdvert> adverts = new ArrayList<>();
    for (byte[] v : values(Protocol.CAPACITY_BUCKET, q + ".*")) {
      try {
        adverts.add(CapacityAdvert.parseFrom(v));
      } catch (Exception unreadable) {
        // an advert this version cannot read counts as absent, as the reconciler counts it
      }
    }
    List<dev.sluice.internal.proto.ProducerReport> reports = new ArrayList<>();
    for (byte[] v : values(Protocol.CONTROL_BUCKET, Protocol.producerKey(q, "*"))) {
      try {
        reports.add(dev.sluice.internal.proto.ProducerReport.parseFrom(v));
      } catch (Exception unreadable) {
        // as for adverts
      }
    }
    byte[] l = value(Protocol.CONTROL_BUCKET, Protocol.reconcilerKey(q));
    Optional<ReconcilerLease> lease =
        l == null
            ? Optional.empty()
            : Optional.of(Snapshots.lease(dev.sluice.internal.proto.ReconcilerLease.parseFrom(l)));
    byte[] st = value(Protocol.CONTROL_BUCKET, Protocol.settingsKey(q));
    QueueSettings settings = st == null ? null : QueueSettings.parseFrom(st);
    long tokens;
    try {
      tokens = Ledgers.tokens(jsm(), q);
    } catch (JetStreamApiException e) {
      if (!ApiErrors.streamNotFound(e)) {
        throw e;
      }
      tokens = 0;
    }
    OptionalLong deadLetters = DeadLetterStore.count(jsm(), q);
    // Liveness is judged after the reads, as the reconciler judges it after its own.
    long now = clock.millis();
    QueueConfig qc = settings == null ? QueueConfig.defaults() : QueueConfig.of(settings);
    int standing = qc.standingBuffer();
    List<WorkerAdvert> workers =
        adverts.stream()
            .map(a -> Snapshots.advert(a, now))
            .sorted(Comparator.comparing(WorkerAdvert::workerId))
            .toList();
    List<ProducerReport> producers =
        reports.stream()
            .map(r -> Snapshots.producer(r, now))
            .sorted(Comparator.comparing(ProducerReport::producerId))
            .toList();
    long backlog = work.getStreamState().getMsgCount();
    ZonedDateTime first = work.getStreamState().getFirstTime();
    return new QueueInspection(
        q,
        Instant.ofEpochMilli(now),
        backlog,
        work.getConfiguration().getMaxMsgs(),
        work.getStreamState().getFirstSequence(),
        backlog == 0 || first == null ? Optional.empty() : Optional.of(first.toInstant()),
        Optional.ofNullable(ci).map(QueueReader::consumer),
        standing,
        settings == null ? OptionalInt.empty() : OptionalInt.of(settings.getTokenBatch()),
        tokens,
        Rates.window(
            Window.window(qc, adverts, now),
            qc.ratePerSecond(),
            qc.rateBurst(),
            Rates.running(adverts, now)),
        workers,
        producers,
        lease,
        deadLetters,
        new AdvertBounds(
            qc.maxWorkerCapacity(), qc.maxWindow(), Window.clampedCount(qc, adverts, now)),
        Snapshots.rateLimit(qc, adverts, now));
  }

  private static ConsumerStatus consumer(ConsumerInfo ci) {
    Duration remaining = ci.getPaused() ? ci.getPauseRemaining() : null;
    ZonedDateTime lastAck = ci.getAckFloor() == null ? null : ci.getAckFloor().getLastActive();
    ZonedDateTime lastDelivered =
        ci.getDelivered() == null ? null : ci.getDelivered().getLastActive();
    return new ConsumerStatus(
        ci.getNumAckPending(),
        ci.getRedelivered(),
        ci.getPaused(),
        Optional.ofNullable(remaining),
        Optional.ofNullable(lastAck).map(ZonedDateTime::toInstant),
        Optional.ofNullable(lastDelivered).map(ZonedDateTime::toInstant));
  }

  /**
   * Values of the keys matching {@code filter}; none when the bucket does not exist. The keys come
   * from the bucket stream's subject index (stream info with a subjects filter), not from {@code
   * KeyValue.keys()}: that one reads the bucket with a consumer, which can miss a key rewritten
   * during the read (an advert rewritten every heartbeat then reads as a worker that is gone) or
   * return it twice.
   */
  private List<byte[]> values(String bucket, String filter)
      throws IOException, JetStreamApiException {
    List<byte[]> out = new ArrayList<>();
    String prefix = "$KV." + bucket + ".";
    StreamInfo si;
    try {
      si = jsm().getStreamInfo("KV_" + bucket, StreamInfoOptions.filterSubjects(prefix + filter));
    } catch (JetStreamApiException e) {
      if (ApiErrors.streamNotFound(e)) {
        return out;
      }
      throw e;
    }
    List<Subject> subjects = si.getStreamState().getSubjects();
    if (subjects == null) {
      return out;
    }
    KeyValue kv = nc.keyValue(bucket);
    for (String k :
        new TreeSet<>(
            subjects.stream().map(x -> x.getName().substring(prefix.length())).toList())) {
      KeyValueEntry e = kv.get(k);
      if (e != null && e.getValue() != null) {
        out.add(e.getValue());
      }
    }
    return out;
  }

  private byte[] value(String bucket, String key) throws IOException, JetStreamApiException {
    try {
      KeyValueEntry e = nc.keyValue(bucket).get(key);
      return e == null ? null : e.getValue();
    } catch (JetStreamApiException e) {
      if (ApiErrors.streamNotFound(e)) {
        return null;
      }
      throw e;
    }
  }

  private JetStreamManagement jsm() throws IOException {
    return nc.jetStreamManagement();
  }
}
