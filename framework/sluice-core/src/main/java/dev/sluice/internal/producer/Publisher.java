package dev.sluice.internal.producer;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.PublishException;
import dev.sluice.SendResult;
import dev.sluice.internal.credit.TokenWallet;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamStatusException;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes one message on a reserved credit and settles the credit with the wallet (protocol §6.4,
 * §6.5): every try carries the same {@code Nats-Msg-Id}; a timeout or I/O error is retried, and so
 * is error 10077 (the stream's hard limit, which is back-pressure), until the send's acquire
 * deadline. The first try runs on the calling thread; only a failed send builds a Failsafe retry
 * policy, bounded by what is left of its deadline, whose delays run on the producer's timer.
 * Thread-safe.
 */
final class Publisher {
  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
  private static final Duration FIRST_DELAY = Duration.ofMillis(20);
  private static final Duration MAX_DELAY = Duration.ofSeconds(1);
  private static final int NO_RESPONDERS = 503;
  private static final String PROTOCOL_VERSION = Integer.toString(Protocol.VERSION);

  private final JetStream js;
  private final String queue;
  private final String subject;
  private final String producerId;
  private final TokenWallet wallet;
  private final ScheduledExecutorService timer;
  private final Clock clock;
  private final BooleanSupplier running;
  private final PublishTimeouts timeouts;
  private final AtomicLong sent = new AtomicLong();
  private volatile boolean hitHardLimit;

  Publisher(
      JetStream js,
      ProducerSettings s,
      TokenWallet wallet,
      ScheduledExecutorService timer,
      Clock clock,
      BooleanSupplier running) {
    this.js = js;
    this.queue = s.queue();
    this.subject = Protocol.workSubject(s.queue());
    this.producerId = s.producerId();
    this.wallet = wallet;
    this.timer = timer;
    this.clock = clock;
    this.running = running;
    this.timeouts = new PublishTimeouts(clock, s.publishTimeout());
    long every = timeouts.period().toMillis();
    timer.scheduleWithFixedDelay(timeouts::sweep, every, every, TimeUnit.MILLISECONDS);
  }

  /** What one send learned from its failed tries. Confined to one send's callbacks. */
  private static final class Tries {
    int count;

    /** A try timed out or failed in transit: the message may be stored already. */
    boolean maybeStored;

    /** The last failure was the hard limit. */
    boolean full;

    /** Tries that no stream answered (NATS "no responders"): none of them stored anything. */
    int unanswered;

    /** Tries the NATS client gave up on (its own request timeout, or closing): maybe stored. */
    int abandoned;
  }

  /**
   * Publishes {@code m} with body {@code body} on {@code credit}; the future completes with the
   * stream's acknowledgement or fails with {@link PublishException} or, when the hard limit
   * outlasted {@code deadlineNanos}, {@link dev.sluice.CreditTimeoutException}.
   */
  CompletableFuture<SendResult> publish(
      OutgoingMessage m,
      SealedHeaders headers,
      byte[] body,
      TokenWallet.Credit credit,
      long deadlineNanos,
      String traceparent) {
    headers.set(Protocol.H_SENT_AT, Long.toString(clock.millis())); // now, not when prepared
    Outgoing msg = new Outgoing(subject, headers.seal(), body);
    Tries tries = new Tries();
    CompletableFuture<SendResult> result = new CompletableFuture<>();
    tryOnce(msg, tries)
        .whenComplete(
            (ack, err) -> {
              long left = deadlineNanos - clock.nanos();
              if (err == null) {
                succeeded(m, ack, credit, tries, traceparent, result);
              } else if (retryable(err) && left > FIRST_DELAY.toNanos()) {
                retry(msg, tries, err, Duration.ofNanos(left))
                    .whenComplete(
                        (ack2, err2) -> {
                          if (err2 == null) {
                            succeeded(m, ack2, credit, tries, traceparent, result);
                          } else {
                            failed(err2, credit, tries, result);
                          }
                        });
              } else {
                failed(err, credit, tries, result);
              }
            });
    return result;
  }

  /** Stored messages so far. */
  long sentTotal() {
    return sent.get();
  }

  /** Whether the last publish met the work stream's hard limit. */
  boolean hitHardLimit() {
    return hitHardLimit;
  }

  /**
   * The header block of {@code m} (§3), prepared before a credit is reserved so that its size can
   * be checked; {@link #publish} stamps {@code Sluice-Sent-At} anew and seals it.
   */
  SealedHeaders headers(OutgoingMessage m, String traceparent) {
    SealedHeaders headers = new SealedHeaders();
    headers.set(Protocol.H_MSG_ID, m.messageId()); // checked by OutgoingMessage, as the type is
    headers.set(Protocol.H_PROTOCOL, PROTOCOL_VERSION);
    headers.set(Protocol.H_TYPE, m.type());
    headers.set(Protocol.H_TYPE_VERSION, Integer.toString(m.version()));
    if (!m.contentType().equals(Protocol.DEFAULT_CONTENT_TYPE)) {
      headers.setChecked(Protocol.H_CONTENT_TYPE, m.contentType()); // absent: the default (§3)
    }
    headers.set(Protocol.H_TRACEPARENT, traceparent); // made or re-made by the producer
    if (m.tracestate() != null) {
      headers.setChecked(Protocol.H_TRACESTATE, m.tracestate());
    }
    headers.set(Protocol.H_PRODUCER, producerId);
    if (m.fairnessKey() != null) {
      headers.set(Protocol.H_FAIRNESS_KEY, m.fairnessKey()); // §15.3, checked by OutgoingMessage
    }
    headers.set(Protocol.H_SENT_AT, Long.toString(clock.millis()));
    m.headers().forEach(headers::setChecked);
    return headers;
  }

  /** What every try of one send publishes: the same subject, sealed headers and body. */
  private record Outgoing(String subject, Headers headers, byte[] body) {}

  private CompletableFuture<PublishAck> tryOnce(Outgoing msg, Tries tries) {
    CompletableFuture<PublishAck> f;
    try {
      // No PublishOptions: jnats copies the header block to merge any options into it, and a
      // send needs none (timeouts are tracked here; no expected-stream precondition, which would
      // travel and be stored as a header on every message: the work subject belongs to the work
      // stream alone, §2).
      f = timeouts.track(js.publishAsync(msg.subject(), msg.headers(), msg.body()));
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.whenComplete(
        (ack, err) -> {
          tries.count++;
          if (err != null) {
            Throwable cause = rootCause(err);
            tries.full = isHardLimit(cause);
            boolean unanswered = isUnanswered(cause);
            tries.maybeStored |= isTransient(cause) && !unanswered;
            if (cause instanceof CancellationException && ++tries.abandoned == 1) {
              LOG.warn(
                  "the NATS client gave up waiting for the PubAck of a publish to queue {} ({});"
                      + " the message may be stored: retrying with the same message id until the"
                      + " send's deadline",
                  queue,
                  cause.getMessage());
            }
            if (unanswered && ++tries.unanswered == 1) {
              LOG.warn(
                  "no stream answered a publish to queue {} (no responders); retrying with the"
                      + " same message id until the send's deadline",
                  queue);
            }
            if (tries.full) {
              hitHardLimit = true;
            }
          }
        });
  }

  /**
   * Retries after the first failure, 20 ms doubling to 1 s apart, until the deadline or close. The
   * policy's first "try" is the failure already in hand, so the first real retry waits 20 ms.
   */
  private CompletionStage<PublishAck> retry(
      Outgoing msg, Tries tries, Throwable first, Duration left) {
    try {
      RetryPolicy<PublishAck> policy =
          RetryPolicy.<PublishAck>builder()
              .handleIf(e -> retryable(e))
              .abortIf((ack, e) -> !running.getAsBoolean())
              .withBackoff(FIRST_DELAY, MAX_DELAY)
              .withMaxRetries(-1)
              .withMaxDuration(left)
              .build();
      return Failsafe.with(policy)
          .with(timer)
          .getStageAsync(
              ctx ->
                  ctx.isFirstAttempt()
                      ? CompletableFuture.failedFuture(first)
                      : tryOnce(msg, tries));
    } catch (RuntimeException e) {
      // The timer refused the work (closing): end the send with its last failure.
      return CompletableFuture.failedFuture(first);
    }
  }

  private void succeeded(
      OutgoingMessage m,
      PublishAck ack,
      TokenWallet.Credit credit,
      Tries tries,
      String traceparent,
      CompletableFuture<SendResult> result) {
    // A duplicate on the first clean try was stored by someone else: this send spent nothing.
    boolean refund = ack.isDuplicate() && !tries.maybeStored;
    if (!refund) {
      sent.incrementAndGet();
      hitHardLimit = false;
    }
    wallet.release(credit, refund);
    result.complete(new SendResult(m.messageId(), ack.getSeqno(), ack.isDuplicate(), traceparent));
  }

  private void failed(
      Throwable err, TokenWallet.Credit credit, Tries tries, CompletableFuture<SendResult> result) {
    // Keep the credit reserved if the message may have been stored: over-counting is the safe side.
    wallet.release(credit, !tries.maybeStored);
    Throwable cause = rootCause(err);
    if (tries.full) {
      result.completeExceptionally(TimeoutReasons.stayedAtHardLimit(queue));
    } else if (tries.unanswered == tries.count) {
      result.completeExceptionally(
          new PublishException(
              "no stream answered any of "
                  + tries.count
                  + " publishes to queue "
                  + queue
                  + " (no responders): is the queue provisioned? (Sluice.provision; a clustered"
                  + " stream also answers nobody while its leader is being elected). Nothing was"
                  + " stored and the credit went back",
              cause));
    } else {
      result.completeExceptionally(
          new PublishException(
              "publish to queue " + queue + " failed after " + tries.count + " tries: " + cause,
              cause));
    }
  }

  private boolean retryable(Throwable err) {
    Throwable cause = rootCause(err);
    return (isHardLimit(cause) || isTransient(cause) || isUnanswered(cause))
        && running.getAsBoolean();
  }

  /**
   * No stream answered (protocol §6 step 5 [v1.3]): jnats turns the NATS 503 status of a JetStream
   * publish into an {@code IOException} "Error Publishing: 503 No Responders Available For Request"
   * (jnats 2.26 gives it no type of its own), or a {@link JetStreamStatusException} when the
   * connection asks for it ({@code Options.reportNoResponders}). Nothing was stored: a retry is
   * harmless and, when every try went unanswered, the credit goes back.
   */
  private static boolean isUnanswered(Throwable cause) {
    return (cause instanceof IOException
            && String.valueOf(cause.getMessage()).contains("No Responders"))
        || (cause instanceof JetStreamStatusException jse
            && jse.getStatus() != null
            && jse.getStatus().getCode() == NO_RESPONDERS);
  }

  private static boolean isHardLimit(Throwable cause) {
    return cause instanceof JetStreamApiException jse
        && jse.getApiErrorCode() == Protocol.ERR_MAX_MSGS;
  }

  /**
   * A failure after which the message may be stored: an I/O error, Sluice's own publish timeout, or
   * jnats giving up on the PubAck ({@code CancellationException}: its request timeout, about 5 s
   * whatever {@code publishTimeout} says, or the connection closing). Read as a refusal, a
   * cancelled publish that was stored would fail the send and give its credit back.
   */
  private static boolean isTransient(Throwable cause) {
    return cause instanceof IOException
        || cause instanceof TimeoutException
        || cause instanceof CancellationException;
  }

  /** The JetStream or I/O error inside the wrappers jnats, Failsafe and futures add. */
  static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException
            || c instanceof FailsafeException
            || c.getClass() == RuntimeException.class)
        && c.getCause() != null
        && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }
}
