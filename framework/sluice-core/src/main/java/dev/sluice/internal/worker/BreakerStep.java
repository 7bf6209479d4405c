package dev.sluice.internal.worker;

import dev.failsafe.CircuitBreaker;
import dev.sluice.CircuitBreakerPolicy;
import dev.sluice.DownstreamOverloadedException;
import dev.sluice.RejectMessageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step 7, present only with an enabled {@link CircuitBreakerPolicy}: records each handler run in a
 * Failsafe circuit breaker (explicit rejections and pushbacks do not count), which the pull loop
 * and the advert read through {@link BreakerState}. Thread-safe.
 */
final class BreakerStep implements Step, BreakerState {
  private static final Logger LOG = LoggerFactory.getLogger(BreakerStep.class);

  private final CircuitBreaker<Object> breaker;

  BreakerStep(String queue, CircuitBreakerPolicy policy) {
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
        breaker.recordFailure(); // §15.1: a pushback is neither a failure nor a success
      }
      throw e;
    }
    breaker.recordSuccess();
  }

  @Override
  public boolean open() {
    return breaker.isOpen() || breaker.isHalfOpen();
  }

  @Override
  public boolean tryProbe() {
    return breaker.tryAcquirePermit();
  }
}
