package dev.sluice.samples.spring;

import dev.sluice.MessageContext;
import dev.sluice.spring.SluiceListener;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/** Handles orders: the application's worker, started and stopped with the context. */
@Component
public class Fulfilment {
  private final Set<String> fulfilled = ConcurrentHashMap.newKeySet();

  @SluiceListener(queue = "${sample.queue}", concurrency = 4, prefetch = 4)
  void fulfil(Order order, MessageContext ctx) {
    fulfilled.add(order.orderId());
    synchronized (this) {
      notifyAll();
    }
  }

  /** Waits until every order of {@code ids} has been handled, or {@code timeout} has passed. */
  public synchronized boolean awaitAll(Collection<String> ids, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!fulfilled.containsAll(ids)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  /** The ids of the orders handled so far (a redelivered order counts once). */
  public Set<String> fulfilled() {
    return Set.copyOf(fulfilled);
  }
}
