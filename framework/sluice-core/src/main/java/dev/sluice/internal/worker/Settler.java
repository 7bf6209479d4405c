package dev.sluice.internal.worker;

import dev.sluice.DeadLetterReason;
import dev.sluice.RejectMessageException;
import dev.sluice.internal.credit.Acks;
import dev.sluice.internal.credit.Replenisher;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.ReducedRecords;
import dev.sluice.spi.OutcomeListener;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one component that settles deliveries (protocol §7.2): acks, NAKs with a delay, dead-letters
 * (publish the record, await its PubAck, then term), and confirms the finishing acks before their
 * credits are minted (§5.4). Handlers, middleware and the other steps never ack. Thread-safe: any
 * handler thread may settle; finishing acks are sent under one lock so that a later double ack
 * confirms every earlier one.
 */
final class Settler implements Replenisher.Confirmer {
  private static final Logger LOG = LoggerFactory.getLogger(Settler.class);
  private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(5);
  // An audit's confirm: the finishing handlers wait while it travels.
  private static final Duration AUDIT_CONFIRM_TIMEOUT = Duration.ofSeconds(1);
  // How long a message whose record could not be written waits before it is tried again.
  private static final Duration RECORD_RETRY = Duration.ofSeconds(2);

  private final Connection nc;
  private final JetStream js;
  private final WorkerSettings s;
  private final String stream;
  private final Metrics metrics;
  private final Clock clock;
  private final WorkerHealth health;
  private final Runnable onFinished;
  private final FailureLog failures;
  private final AtomicLong processed = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();
  private final Object ackLock = new Object();
  private long finishesSent;
  private Message lastFinished;
  // The finishes an audit's confirm covered (guarded by ackLock).
  private long auditConfirmed;

  /**
   * {@code onFinished} runs after every finishing ack or term (one credit owed), under the lock the
   * acks are sent under.
   */
  Settler(Connection nc, JetStream js, WorkerSettings s, WorkerHealth health, Runnable onFinished) {
    this.nc = nc;
    this.js = js;
    this.s = s;
    this.stream = Protocol.workStream(s.queue());
    this.metrics = s.metricsOrNoop();
    this.clock = s.clock();
    this.health = health;
    this.onFinished = onFinished;
    this.failures = new FailureLog(clock);
  }

  /** Settles {@code d} as a step decided before the handler ran. */
  void settle(Delivery d, Classifier.Decision decision) {
    d.settled = true;
    if (decision instanceof Classifier.DeadLetter dl) {
      deadLetter(d, dl.reason(), dl.error());
    } else if (decision instanceof Classifier.AckDuplicate) {
      duplicates.incrementAndGet();
      finish(d.msg, false);
    } else if (decision instanceof Classifier.Nak nak) {
      nak(d.msg, nak.delay());
    } else {
      throw new IllegalArgumentException("not a settling decision: " + decision);
    }
  }

  /** The chain ran to its end without a failure. */
  void succeeded(Delivery d) {
    if (d.lateDuplicate) {
      duplicates.incrementAndGet(); // a late completion: another delivery finished it first
    } else {
      processed.incrementAndGet();
      metrics.count("sluice.worker.processed");
    }
    finish(d.msg, false);
    if (!d.lateDuplicate && s.outcomes() != null) {
      tell(d, l -> l.processed(settled(d)));
    }
  }

  /** The handler (or a middleware) failed: retry with back-off or dead-letter (§7.2 step 7). */
  void failed(Delivery d, Throwable failure) {
    boolean rejected = failure instanceof RejectMessageException;
    String error = failure.getClass().getSimpleName() + ": " + failure.getMessage();
    Classifier.Decision decision =
        Classifier.afterFailure(d.attempt(), rejected, error, s.backoff(), s.limits());
    String outcome =
        decision instanceof Classifier.DeadLetter dl
            ? "dead-lettering it (" + dl.reason().code() + ")"
            : "retrying in " + ((Classifier.Nak) decision).delay().toMillis() + " ms";
    logFailure(d, failure, outcome);
    if (decision instanceof Classifier.DeadLetter dl) {
      deadLetter(d, dl.reason(), dl.error());
    } else {
      Classifier.Nak nak = (Classifier.Nak) decision;
      retried.incrementAndGet();
      metrics.count("sluice.worker.retried");
      nak(d.msg, nak.delay());
      if (s.outcomes() != null) {
        tell(d, l -> l.retrying(settled(d), nak.delay(), failure));
      }
    }
  }

  /** The handler's error at WARN, the first of its kind in a minute (see {@link FailureLog}). */
  private void logFailure(Delivery d, Throwable failure, String outcome) {
    String type = d.hc != null && d.hc.valid() ? d.hc.type() : "?";
    long suppressed = failures.admit(failure.getClass().getName() + "@" + type);
    if (suppressed < 0) {
      if (LOG.isDebugEnabled()) {
        LOG.debug(
            "handler failed on message {} (type {}, attempt {}); {}: {}",
            d.msgId(),
            type,
            d.attempt(),
            outcome,
            failure.toString());
      }
      return;
    }
    LOG.warn(
        "handler failed on message {} (type {}, attempt {}, stream seq {}); {}{}",
        d.msgId(),
        type,
        d.attempt(),
        d.meta.streamSequence(),
        outcome,
        suppressed > 0
            ? " (" + suppressed + " more failures like it in the last minute, logged at DEBUG)"
            : " (repeats within a minute are logged at DEBUG)",
        failure);
  }

  private OutcomeListener.Settled settled(Delivery d) {
    // The id as received, also when it failed validation: the listener may need to match it.
    String id = d.msg.getHeaders() == null ? null : d.msg.getHeaders().getFirst("Nats-Msg-Id");
    return new OutcomeListener.Settled(
        s.queue(), id == null ? "?" : id, d.attempt(), d.meta.streamSequence());
  }

  /** Calls the user's listener; one that throws never changes the outcome (guarded, logged). */
  private void tell(Delivery d, java.util.function.Consumer<OutcomeListener> call) {
    try {
      call.accept(s.outcomes());
    } catch (RuntimeException e) {
      LOG.warn("outcome listener {} failed for {}: {}", s.outcomes(), d.msgId(), e.toString());
    }
  }

  /** NAKs {@code m} so that it is redelivered after {@code delay}; never throws. */
  void nak(Message m, Duration delay) {
    try {
      m.nakWithDelay(delay);
    } catch (RuntimeException e) {
      LOG.warn("nak failed ({}): the message returns after the ack wait", e.toString());
    }
  }

  private void finish(Message m, boolean term) {
    synchronized (ackLock) {
      // Sent in order on this connection, so a later double ack confirms this one too. Reported
      // under the lock: an audit holding it counts every ack sent so far (§5.5 [v1.3]).
      if (term) {
        m.term();
      } else {
        m.ack();
      }
      finishesSent++;
      lastFinished = m;
      onFinished.run();
    }
  }

  /**
   * The double ack: an ack with a reply on the last finished message. Completes, once the server
   * answered, with how many finishes had been sent before it, all of them now confirmed. Does not
   * wait for the server (only for an audit that holds the acks back).
   */
  @Override
  public CompletableFuture<Long> confirmSent() {
    Message last;
    long sent;
    synchronized (ackLock) {
      last = lastFinished;
      sent = finishesSent;
    }
    if (last == null) {
      return CompletableFuture.completedFuture(sent);
    }
    return Acks.confirmAsync(nc, last, Acks.ACK, CONFIRM_TIMEOUT).thenApply(reply -> sent);
  }

  /**
   * Holds the finishing acks back while an audit reads the backlog (§5.5 [v1.3]): confirms the acks
   * sent since the last audit (once answered, the server has taken every one of them and their
   * messages are out of the backlog), then runs {@code read} with none sent meanwhile. The handlers
   * that finish in the meantime wait for it, one confirm and one reading.
   */
  @Override
  public <T> T confirmedAndHeld(Callable<T> read) throws Exception {
    synchronized (ackLock) {
      if (lastFinished != null && finishesSent > auditConfirmed) {
        Acks.confirmAsync(nc, lastFinished, Acks.ACK, AUDIT_CONFIRM_TIMEOUT).get();
        auditConfirmed = finishesSent;
      }
      return read.call();
    }
  }

  private void deadLetter(Delivery d, DeadLetterReason reason, String error) {
    Message m = d.msg;
    long seq = d.meta.streamSequence();
    Headers record =
        DeadLetters.recordHeaders(
            m.getHeaders(),
            stream,
            seq,
            m.getSubject(),
            d.attempt(),
            s.workerId(),
            clock.millis(),
            reason,
            error);
    ReducedRecords.Reduced fitted;
    try {
      // A record over the server's limits would be refused on every attempt: cut it instead (§8.4).
      fitted = ReducedRecords.reduce(record, d.data, nc.getServerInfo().getMaxPayload());
    } catch (RuntimeException e) {
      recordFailed(m, seq, e);
      return;
    }
    Message out =
        NatsMessage.builder()
            .subject(Protocol.dlqSubject(s.queue()))
            .headers(fitted.headers())
            .data(fitted.payload())
            .build();
    try {
      // No expected-stream precondition: it would be stored in the record as a header.
      js.publish(out, PublishOptions.builder().streamTimeout(CONFIRM_TIMEOUT).build());
    } catch (Exception e) {
      recordFailed(m, seq, e);
      return;
    }
    health.deadLetterProblem("");
    finish(m, true);
    if (s.outcomes() != null) {
      tell(d, l -> l.deadLettered(settled(d), reason, error));
    }
    deadLettered.incrementAndGet();
    metrics.count("sluice.worker.dead.lettered", "reason", reason.code());
    if (fitted.reduced()) {
      LOG.warn(
          "dead-lettered stream seq {} ({}) as a reduced record: {} headers dropped {}, payload {}:"
              + " {}",
          seq,
          reason.code(),
          fitted.dropped().size(),
          fitted.dropped(),
          fitted.cut() ? "cut to " + fitted.payload().length + " of " + d.data.length : "whole",
          error);
    } else {
      LOG.warn("dead-lettered stream seq {} ({}): {}", seq, reason.code(), error);
    }
  }

  /**
   * Not recorded, so not termed: the message comes back after a delay and the record is tried
   * again; until one is written the worker reports FAILING with the reason.
   */
  private void recordFailed(Message m, long seq, Exception e) {
    String why =
        "dead-letter records cannot be written to "
            + Protocol.DLQ_STREAM
            + " ("
            + e
            + "); messages to dead-letter stay queued: check that the stream exists and that this"
            + " worker may publish to "
            + Protocol.dlqSubject(s.queue());
    health.deadLetterProblem(why);
    LOG.error("dead-letter publish for stream seq {} failed: {}", seq, e.toString());
    nak(m, RECORD_RETRY);
  }

  long processed() {
    return processed.get();
  }

  long deadLettered() {
    return deadLettered.get();
  }

  long duplicates() {
    return duplicates.get();
  }

  long retried() {
    return retried.get();
  }
}
