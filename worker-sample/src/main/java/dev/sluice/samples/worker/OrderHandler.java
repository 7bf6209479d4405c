package dev.sluice.samples.worker;

import dev.sluice.Handler;
import dev.sluice.MessageContext;
import dev.sluice.RejectMessageException;
import dev.sluice.samples.orders.v2.LineItem;
import dev.sluice.samples.orders.v2.Order;
import dev.sluice.samples.worker.Effects.Step;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Handles one order: validate, reserve stock, charge, ship. The three rules a Sluice handler
 * follows:
 *
 * <ol>
 *   <li>A message that can never succeed (here: a line with quantity 0) throws {@link
 *       RejectMessageException}: it goes to the dead-letter stream at once, without retries.
 *   <li>Any other exception is a transient failure: Sluice retries the message with back-off.
 *   <li>Effects are idempotent, keyed by the message id: a retry after a half-done attempt must not
 *       repeat what was done (Sluice guarantees at-least-once delivery, the handler makes it
 *       exactly-once in effect).
 * </ol>
 *
 * <p>For the demo, the work takes {@code workTime} (±50 %) and a share {@code failRate} of the
 * orders fail once, after reserving stock, as if the payment gateway timed out; they succeed on the
 * retry. Thread-safe.
 */
public final class OrderHandler implements Handler<Order> {
  /**
   * @param workTime mean time the three steps take together
   * @param failRate share of orders whose first attempt fails transiently
   */
  public record Settings(Duration workTime, double failRate) {}

  /** Told when an order is done; the demo measures end-to-end latency with it. */
  @FunctionalInterface
  public interface Observer {
    void completed(Order order, MessageContext ctx);
  }

  /** A failure worth retrying. */
  public static final class TransientFailure extends Exception {
    private static final long serialVersionUID = 1L;

    public TransientFailure(String message) {
      super(message);
    }
  }

  private final Settings settings;
  private final Effects effects;
  private final Observer observer;

  public OrderHandler(Settings settings, Effects effects, Observer observer) {
    this.settings = settings;
    this.effects = effects;
    this.observer = observer;
  }

  @Override
  public void handle(Order order, MessageContext ctx) throws Exception {
    String id = ctx.messageId(); // the order id: the idempotency key of every effect
    // 1. Validate. A permanent problem is rejected: retrying would never help.
    if (order.getItemsCount() == 0) {
      throw new RejectMessageException("order " + order.getOrderId() + " has no line items");
    }
    for (LineItem item : order.getItemsList()) {
      if (item.getQuantity() == 0) {
        throw new RejectMessageException(
            "order " + order.getOrderId() + ": quantity 0 for " + item.getSku());
      }
    }
    long stepNanos = settings.workTime().toNanos() / 3;

    // 2. Reserve stock.
    work(stepNanos);
    effects.once(id, Step.RESERVE);

    // 3. Charge. Injected fault: the gateway times out on the first attempt of some orders. The
    // exception makes Sluice NAK the message with back-off; the retry skips the reservation.
    if (ctx.attempt() == 1 && failsOnce(id, settings.failRate())) {
      throw new TransientFailure("payment gateway timed out (injected) for " + order.getOrderId());
    }
    work(stepNanos);
    effects.once(id, Step.CHARGE);

    // 4. Ship.
    work(stepNanos);
    effects.once(id, Step.SHIP);

    effects.completed(id);
    observer.completed(order, ctx);
  }

  /** Sleeps about {@code nanos} (±50 %), standing in for I/O to other systems. */
  private static void work(long nanos) throws InterruptedException {
    if (nanos > 0) {
      long n = (long) (nanos * (0.5 + ThreadLocalRandom.current().nextDouble()));
      TimeUnit.NANOSECONDS.sleep(n);
    }
  }

  /** Whether this message's first attempt fails: a stable choice per id, about {@code rate}. */
  static boolean failsOnce(String messageId, double rate) {
    long z = messageId.hashCode() * 0x9E3779B97F4A7C15L; // spread neighbouring ids
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    return (z >>> 11) * 0x1.0p-53 < rate;
  }
}
