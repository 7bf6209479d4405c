package dev.sluice.internal.worker;

import dev.failsafe.CircuitBreaker;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.DownstreamOverloadedException;
import dev.sluice.RejectMessageException;
import io.nats.client.Message;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step 7, present only with an enabled {@link CircuitBreakerPolicy}: records each handler run in a
 * Failsafe circuit breaker (explicit rejections and pushbacks do not count), which the pull loop
 * and the advert read through {@link BreakerState}. Thread-safe.
 *
 * <p>Probes (protocol §7.6 [v1.3]): Failsafe keeps the window, the thresholds, the delay and the
 * state; this step keeps the probe. Failsafe's half-open permits cannot express a probe that ends
 * with no verdict (3.3 has no public way to give a permit back), so once the delay has passed the
 * step moves the circuit to half-open itself and lets one probe out at a time. While the circuit is
 * open or half-open only the probe's run is recorded: a run that started before the circuit opened,
 * or came from a pull made before it, neither closes nor reopens it. The probe's run decides (a
 * success closes, a failure opens again for the full delay); a probe released without a counted
 * run, or whose pull was lost, ends with no verdict, so the next pull probes; an empty probe pull
 * closes the circuit. Failsafe takes no clock (its open state reads {@code System.nanoTime()}), so
 * the unit tests use a delay of a nanosecond and test the probe rules, not the delay. Rejected: a
 * breaker of our own, which would repeat Failsafe's window and state machine for the sake of the
 * clock and the probe alone.
 */
final class BreakerStep implements Step, BreakerState {
  private static final Logger LOG = LoggerFactory.getLogger(BreakerStep.class);

  private final String queue;
  private final CircuitBreaker<Object> breaker;

  /** The probe's pull while it waits for a message. */
  private static final Object PULLING = new Object();

  /**
   * The probe: null when none is out, {@link #PULLING}, or its message while that is in the
   * worker's hands without a verdict.
   */
  private final AtomicReference<Object> probe = new AtomicReference<>();

  BreakerStep(String queue, CircuitBreakerPolicy policy) {
    this.queue = queue;
    this.breaker =
        CircuitBreaker.builder()
            .withFailureThreshold(policy.failures(), policy.window())
            .withDelay(policy.delay())
            .withSuccessThreshold(1)
            // The pull loop sees the change and re-advertises: not a KV write on a handler thread.
            .onOpen(
                e ->
                    LOG.warn(
                        "queue {}: circuit opened: the handler fails for most messages; "
                            + "pausing and advertising zero capacity",
                        queue))
            .onClose(e -> LOG.info("queue {}: circuit closed: resuming", queue))
            .build();
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    try {
      next.proceed(d);
    } catch (RejectMessageException e) {
      throw e; // the message is bad, not the handler
    } catch (Exception | Error e) {
      if (DownstreamOverloadedException.find(e) == null) {
        ran(d.msg, true); // §15.1: a pushback is neither a failure nor a success
      }
      throw e;
    }
    ran(d.msg, false);
  }

  /** Records one counted handler run of {@code m}. */
  void ran(Message m, boolean failed) {
    // A plain read first: the compare-and-set runs for the probe only, not once per message.
    boolean isProbe = probe.get() == m && probe.compareAndSet(m, null);
    if (!isProbe && !breaker.isClosed()) {
      return; // open or half-open: only the probe's run counts
    }
    if (failed) {
      breaker.recordFailure();
    } else {
      breaker.recordSuccess();
    }
  }

  @Override
  public boolean open() {
    return !breaker.isClosed();
  }

  @Override
  public boolean tryProbe() {
    if (breaker.isOpen() && breaker.getRemainingDelay().isZero()) {
      breaker.halfOpen();
    }
    return breaker.isHalfOpen() && probe.compareAndSet(null, PULLING);
  }

  @Override
  public void probeArrived(Message m) {
    probe.set(m);
  }

  @Override
  public void probeFoundNothing() {
    if (probe.compareAndSet(PULLING, null) && breaker.isHalfOpen()) {
      LOG.info("queue {}: the circuit's probe found the queue empty", queue);
      breaker.close();
    }
  }

  @Override
  public void probeLost() {
    probe.compareAndSet(PULLING, null);
  }

  @Override
  public void released(Message m) {
    // Settled without a counted run: no verdict, the next pull probes.
    if (probe.get() == m) {
      probe.compareAndSet(m, null);
    }
  }
}
