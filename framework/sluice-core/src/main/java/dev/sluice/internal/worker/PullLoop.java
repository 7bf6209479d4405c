package dev.sluice.internal.worker;

import dev.sluice.internal.credit.Aimd;
import dev.sluice.internal.nats.ApiErrors;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullRequestOptions;
import io.nats.client.PullSubscribeOptions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pull loop, on its own thread: keeps at most {@code concurrency + prefetch} messages in hand
 * (a slot per message, freed when it is settled), pulls nothing but probes while the circuit is
 * open, and diagnoses why it cannot consume (missing stream or consumer, denied pulls) into the
 * worker's health. Not thread-safe: {@link #run()} runs on one thread; {@link #stop()} from any.
 */
final class PullLoop implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(PullLoop.class);
  // Long enough that an idle worker renews its pull (and jnats logs a 408) rarely.
  private static final Duration PULL_EXPIRY = Duration.ofSeconds(5);
  private static final Duration WAIT = Duration.ofMillis(50);
  private static final Duration WAIT_OPEN = Duration.ofMillis(200);
  static final String DENIED_PULLS =
      "permission denied: the server refused this worker's pull requests";

  private final JetStream js;
  private final JetStreamManagement jsm;
  private final String queue;
  private final String stream;
  private final int prefetch;
  private final Semaphore slots;
  private final BreakerState breaker;
  private final WorkerHealth health;
  private final Runnable advertise;
  private final java.util.function.IntSupplier inFlight;
  private final java.util.function.IntSupplier limit;
  private final Consumer<Message> dispatch;
  private final DeniedPulls deniedPulls;

  PullLoop(
      Connection nc,
      WorkerSettings s,
      Semaphore slots,
      BreakerState breaker,
      WorkerHealth health,
      Runnable advertise,
      java.util.function.IntSupplier inFlight,
      java.util.function.IntSupplier limit,
      Consumer<Message> dispatch)
      throws java.io.IOException {
    this.js = nc.jetStream();
    this.jsm = nc.jetStreamManagement();
    this.queue = s.queue();
    this.stream = Protocol.workStream(s.queue());
    this.prefetch = s.prefetch();
    this.slots = slots;
    this.breaker = breaker;
    this.health = health;
    this.advertise = advertise;
    this.inFlight = inFlight;
    this.limit = limit;
    this.dispatch = dispatch;
    this.deniedPulls = new DeniedPulls(nc, "CONSUMER.MSG.NEXT." + stream + ".");
  }

  /**
   * One outstanding pull request: how many messages it may still bring, until when, and whether it
   * is the circuit's probe (§7.6).
   */
  private static final class Pull {
    int remaining;
    final long expiresAt;
    final boolean probe;

    Pull(int remaining, long expiresAt, boolean probe) {
      this.remaining = remaining;
      this.expiresAt = expiresAt;
      this.probe = probe;
    }
  }

  private void problem(String why) {
    if (health.problem(why)) {
      advertise.run();
    }
  }

  @Override
  public void run() {
    JetStreamSubscription sub = null;
    ArrayDeque<Pull> pulls = new ArrayDeque<>();
    long lastCheck = System.nanoTime();
    boolean wasOpen = false;
    while (health.running()) {
      try {
        if (sub == null) {
          jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER); // a clear error if it is missing
          sub = js.subscribe(null, PullSubscribeOptions.bind(stream, Protocol.WORKER_CONSUMER));
          dropPulls(pulls);
          if (!health.problem().isEmpty()) {
            LOG.info("queue {}: consuming again", queue);
            problem("");
          }
        }
        boolean open = breaker.open();
        if (open != wasOpen) {
          wasOpen = open;
          advertise.run();
        }
        long now = System.nanoTime();
        while (!pulls.isEmpty() && (pulls.peek().expiresAt < now || pulls.peek().remaining <= 0)) {
          Pull done = pulls.poll();
          if (done.probe && done.remaining > 0) {
            breaker.probeFoundNothing(); // §7.6: the queue is empty, nothing failed
          }
        }
        int outstanding = 0;
        for (Pull x : pulls) { // a plain loop: this runs once per message
          outstanding += x.remaining;
        }
        int want;
        int lowered = limit.getAsInt();
        if (open) {
          // Circuit open: pull nothing until the breaker allows one probe, and then one message,
          // with nothing else in hand. The permit is taken last: a probe taken is a probe pulled.
          want =
              outstanding == 0
                      && inFlight.getAsInt() == 0
                      && (lowered == Aimd.NONE || lowered >= 1)
                      && breaker.tryProbe()
                  ? 1
                  : 0;
        } else {
          want = slots.availablePermits() - outstanding;
          if (lowered != Aimd.NONE) {
            // §15.1: in hand at most the capacity lowered by pushback.
            want = Math.min(want, lowered - inFlight.getAsInt() - outstanding);
          }
        }
        if (want > 0 && (outstanding == 0 || want >= Math.max(1, prefetch / 2))) {
          deniedPulls.beforePull();
          try {
            sub.pull(PullRequestOptions.builder(want).expiresIn(PULL_EXPIRY).build());
          } catch (RuntimeException e) {
            if (open) {
              breaker.probeLost();
            }
            throw e;
          }
          pulls.add(new Pull(want, now + PULL_EXPIRY.toNanos() + 50_000_000L, open));
        } else if (!open && outstanding == 0 && lowered != Aimd.NONE) {
          sleepQuietly(20); // held back by pushback: the limit or in-hand change on other threads
          continue;
        } else if (!open && outstanding == 0) {
          // Every slot is taken: wake as soon as one frees, not on a poll interval.
          if (slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
            slots.release();
          }
          continue;
        }
        Message m = sub.nextMessage(open ? WAIT_OPEN : WAIT);
        if (m == null || !m.isJetStream()) {
          if (System.nanoTime() - lastCheck > 3_000_000_000L) {
            lastCheck = System.nanoTime();
            jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER); // still there?
            judgePulls();
          }
          continue;
        }
        problem("");
        lastCheck = System.nanoTime();
        Pull head = pulls.peek();
        if (head != null) {
          if (head.probe) {
            breaker.probeArrived(m);
          }
          head.remaining--;
        }
        slots.acquire();
        dispatch.accept(m);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Exception e) {
        if (!health.running()) {
          break;
        }
        String why = describe(e);
        if (!why.equals(health.problem())) {
          LOG.error("queue {}: cannot consume: {}", queue, why);
          problem(why);
        }
        unsubscribe(sub);
        sub = null;
        dropPulls(pulls);
        sleepQuietly(2000); // no hot loop while the stream, consumer or server is missing
      }
    }
    unsubscribe(sub);
  }

  /** Forgets the pull requests of a subscription that is gone; a probe among them is lost. */
  private void dropPulls(ArrayDeque<Pull> pulls) {
    for (Pull x : pulls) {
      if (x.probe && x.remaining > 0) {
        breaker.probeLost();
      }
    }
    pulls.clear();
  }

  private static void unsubscribe(JetStreamSubscription sub) {
    if (sub != null) {
      try {
        sub.unsubscribe();
      } catch (RuntimeException ignored) {
        // already broken, or the connection is closed
      }
    }
  }

  /**
   * A pull request the server refused shows only as an error on the connection (a permissions
   * violation is reported asynchronously): name it instead of waiting forever. A worker that
   * reports it advertises capacity 0, so no message comes to show that the permission returned: the
   * next accepted pull clears the problem instead, and the worker advertises again.
   */
  private void judgePulls() {
    switch (deniedPulls.check()) {
      case DENIED -> {
        String why =
            DENIED_PULLS
                + " ("
                + deniedPulls.lastError()
                + "); allow publishing to $JS.API.CONSUMER.MSG.NEXT."
                + stream
                + "."
                + Protocol.WORKER_CONSUMER
                + " for this user";
        if (!why.equals(health.problem())) {
          LOG.error("queue {}: cannot consume: {}", queue, why);
          problem(why);
        }
      }
      case ACCEPTED -> {
        if (health.problem().startsWith(DENIED_PULLS)) {
          LOG.info("queue {}: the server accepts this worker's pull requests again", queue);
          problem("");
        }
      }
      case UNKNOWN -> {
        // nothing sent since the last check, or no answer: judge at the next one
      }
    }
  }

  private String describe(Exception e) {
    if (e instanceof JetStreamApiException jse) {
      if (jse.getApiErrorCode() == ApiErrors.CONSUMER_NOT_FOUND) {
        return "consumer "
            + Protocol.WORKER_CONSUMER
            + " on stream "
            + stream
            + " does not exist (deleted?): re-provision the queue (scripts/sluice apply)";
      }
      if (jse.getApiErrorCode() == ApiErrors.STREAM_NOT_FOUND) {
        return "stream " + stream + " does not exist (deleted?): re-provision the queue";
      }
    }
    String msg = String.valueOf(e.getMessage());
    if (msg.contains("Consumer Deleted")) {
      return "consumer "
          + Protocol.WORKER_CONSUMER
          + " on stream "
          + stream
          + " does not exist any more (it, or its stream, was deleted): re-provision the queue"
          + " (scripts/sluice apply)";
    }
    if (msg.toLowerCase().contains("permission")) {
      return "permission denied on " + stream + ": " + msg + " (check the account's permissions)";
    }
    return e.getClass().getSimpleName() + ": " + msg;
  }

  static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
