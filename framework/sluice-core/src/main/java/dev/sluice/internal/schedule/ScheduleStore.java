package dev.sluice.internal.schedule;

import dev.sluice.SluiceException;
import dev.sluice.TopologyException;
import dev.sluice.internal.nats.ApiErrors;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.PurgeOptions;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PublishAck;
import io.nats.client.api.PurgeResponse;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Reads and writes one queue's schedule stream (protocol §13.2, §13.3): write an entry and await
 * its acknowledgement, cancel by purging its subject, read one or all entries without consuming.
 * Thread-safe.
 */
public final class ScheduleStore {
  private final Connection nc;
  private final JetStream js;
  private final JetStreamManagement jsm;
  private final String queue;
  private final String stream;
  private final PublishOptions options;

  public ScheduleStore(Connection nc, String queue, Duration publishTimeout) {
    this.nc = nc;
    try {
      this.js = nc.jetStream();
      this.jsm = nc.jetStreamManagement();
    } catch (IOException e) {
      throw new SluiceException("cannot use JetStream: " + e.getMessage(), e);
    }
    this.queue = queue;
    this.stream = ScheduleWire.stream(queue);
    this.options = PublishOptions.builder().streamTimeout(publishTimeout).build();
  }

  /** The queue this store belongs to. */
  public String queue() {
    return queue;
  }

  /**
   * Writes an entry; the future completes once the stream stored it, and fails with {@link
   * TopologyException} when the queue has no schedule stream.
   */
  public CompletableFuture<PublishAck> write(String id, Headers headers, byte[] body) {
    Message m =
        NatsMessage.builder()
            .subject(ScheduleWire.subject(queue, id))
            .headers(headers)
            .data(body)
            .build();
    CompletableFuture<PublishAck> f;
    try {
      f = js.publishAsync(m, options);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.exceptionallyCompose(e -> CompletableFuture.failedFuture(explain(e)));
  }

  /**
   * Replaces the entry at {@code expectedSequence} with {@code headers}, only if it is still the
   * newest of its subject (a cron advance, §13.4). Returns the new entry's sequence, or 0 when
   * someone else replaced or removed it first.
   */
  long replace(String id, long expectedSequence, Headers headers, byte[] body)
      throws IOException, JetStreamApiException {
    Message m =
        NatsMessage.builder()
            .subject(ScheduleWire.subject(queue, id))
            .headers(headers)
            .data(body)
            .build();
    try {
      return js.publish(
              m,
              PublishOptions.builder()
                  .expectedLastSubjectSequence(expectedSequence)
                  .streamTimeout(options.getStreamTimeout())
                  .build())
          .getSeqno();
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == ApiErrors.WRONG_LAST_SEQUENCE) {
        return 0;
      }
      throw e;
    }
  }

  /** Removes the entry at {@code sequence} after it fired; an entry already gone is no error. */
  void remove(long sequence) throws IOException, JetStreamApiException {
    try {
      jsm.deleteMessage(stream, sequence, false);
    } catch (JetStreamApiException e) {
      if (!ApiErrors.noMessage(e)) {
        throw e;
      }
    }
  }

  /**
   * {@link #remove} without waiting for the server's answer: the firer's slot is free once the
   * message is stored. The future fails only for an error other than "no message" (already gone).
   */
  CompletableFuture<Void> removeAsync(long sequence) {
    byte[] body =
        ("{\"seq\":" + sequence + ",\"no_erase\":true}").getBytes(StandardCharsets.US_ASCII);
    return nc.requestWithTimeout(
            "$JS.API.STREAM.MSG.DELETE." + stream, body, options.getStreamTimeout())
        .thenAccept(
            reply -> {
              String json = new String(reply.getData(), StandardCharsets.UTF_8);
              if (json.contains("\"error\"")
                  && !json.contains(Integer.toString(ApiErrors.NO_MESSAGE_FOUND))) {
                throw new IllegalStateException("deleting seq " + sequence + ": " + json);
              }
            });
  }

  /** Cancels schedule {@code id}: true when an entry was removed, false when there was none. */
  public boolean cancel(String id) {
    try {
      PurgeResponse r =
          jsm.purgeStream(
              stream, PurgeOptions.builder().subject(ScheduleWire.subject(queue, id)).build());
      return r.getPurged() > 0;
    } catch (JetStreamApiException e) {
      throw explain(e);
    } catch (IOException e) {
      throw new SluiceException("cancelling schedule " + id + " failed: " + e.getMessage(), e);
    }
  }

  /** The newest entry of schedule {@code id}, if it is still scheduled. */
  public Optional<ScheduleEntry> find(String id) {
    try {
      return newest(ScheduleWire.subject(queue, id));
    } catch (JetStreamApiException e) {
      throw explain(e);
    } catch (IOException e) {
      throw new SluiceException("reading schedule " + id + " failed: " + e.getMessage(), e);
    }
  }

  /** The newest entry stored on {@code subject}, if any. */
  Optional<ScheduleEntry> newest(String subject) throws IOException, JetStreamApiException {
    MessageInfo mi;
    try {
      mi = jsm.getLastMessage(stream, subject);
    } catch (JetStreamApiException e) {
      if (ApiErrors.noMessage(e)) {
        return Optional.empty();
      }
      throw e;
    }
    if (mi == null || !mi.isMessage()) {
      return Optional.empty();
    }
    return Optional.of(
        ScheduleEntry.of(mi.getSubject(), mi.getSeq(), mi.getHeaders(), mi.getData()));
  }

  /** The schedule stream's last sequence (a cheap stream-info read). */
  long lastSequence() throws IOException, JetStreamApiException {
    return jsm.getStreamInfo(stream).getStreamState().getLastSequence();
  }

  /** Entries stored now (a cheap stream-info read). */
  public long count() {
    try {
      return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
    } catch (JetStreamApiException e) {
      throw explain(e);
    } catch (IOException e) {
      throw new SluiceException("reading " + stream + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Up to {@code max} entries in stream order (oldest write first), read with an ordered consumer
   * that consumes nothing; entries that are not well-formed are skipped.
   */
  public List<ScheduleEntry> readAll(int max) {
    List<ScheduleEntry> out = new ArrayList<>();
    if (count() == 0) {
      return out;
    }
    JetStreamSubscription sub = null;
    try {
      sub =
          js.subscribe(
              ScheduleWire.filter(queue),
              PushSubscribeOptions.builder().stream(stream).ordered(true).build());
      while (out.size() < max) {
        Message m = sub.nextMessage(Duration.ofSeconds(2));
        if (m == null) {
          break;
        }
        try {
          out.add(
              ScheduleEntry.of(
                  m.getSubject(), m.metaData().streamSequence(), m.getHeaders(), m.getData()));
        } catch (IllegalArgumentException malformed) {
          // not an entry this library can read: skip it
        }
        if (m.metaData().pendingCount() == 0) {
          break;
        }
      }
      return out;
    } catch (JetStreamApiException e) {
      throw explain(e);
    } catch (IOException e) {
      throw new SluiceException("reading " + stream + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SluiceException("interrupted while reading " + stream, e);
    } finally {
      if (sub != null) {
        try {
          sub.unsubscribe();
        } catch (RuntimeException ignored) {
          // the connection is closing
        }
      }
    }
  }

  /** The error for a missing schedule stream says how to create it; other errors pass through. */
  RuntimeException explain(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && c.getCause() != c && !(c instanceof JetStreamApiException)) {
      c = c.getCause();
    }
    boolean missing =
        (c instanceof JetStreamApiException jse && ApiErrors.streamNotFound(jse))
            || String.valueOf(c.getMessage()).contains("No Responders");
    if (missing) {
      return new TopologyException(
          "queue '"
              + queue
              + "' has no schedule stream "
              + stream
              + ": provision the queue again (Sluice.provision or 'sluice apply') to add it");
    }
    if (c instanceof SluiceException se) {
      return se;
    }
    return new SluiceException("schedule stream " + stream + ": " + c.getMessage(), c);
  }
}
