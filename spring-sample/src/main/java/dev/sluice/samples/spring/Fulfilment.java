package dev.sluice.samples.spring;

import dev.sluice.MessageContext;
import dev.sluice.spring.SluiceListener;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/** Handles orders: the application's worker, started and stopped with the context. */
@Component
public class Fulfilment {
  private final Set<String> fulfilled = ConcurrentHashMap.newKeySet();

  @SluiceListener(queue = "${sample.queue}", concurrency = 4, prefetch = 4)
  void fulfil(Order order, MessageContext ctx) {
    fulfilled.add(order.orderId());
  }

  /** The ids of the orders handled so far (a redelivered order counts once). */
  public Set<String> fulfilled() {
    return Set.copyOf(fulfilled);
  }
}
