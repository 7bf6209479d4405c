package dev.sluice.internal.credit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides when producer reports that claim more held spent credits than their tokens can carry
 * (PROTOCOL.md §5.5, bounded reports) are worth an operator's attention. The bound is applied
 * either way; this only chooses the log level.
 *
 * <p>Once, beyond a token's worth, it is a report read from the watch just before its producer
 * acked a spent token (a busy producer acks at once and reports every cycle): DEBUG. In two audits
 * running, a report that claims more than its producer can hold: WARN.
 */
final class Overclaims {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

  private boolean before;

  /** One audit's reading: what the reports claimed, what was counted, the queue's token batch. */
  void observe(String queue, long reported, long counted, long tokenBatch) {
    boolean now = counted + tokenBatch < reported;
    if (now && before) {
      LOG.warn(
          "queue {}: producers report {} held spent credits in two audits running, more than the"
              + " tokens they hold can carry; counting {}",
          queue,
          reported,
          counted);
    } else if (now) {
      LOG.debug(
          "queue {}: producers report {} held spent credits, more than the tokens they hold can"
              + " carry (a report older than its ack, or a lie); counting {}",
          queue,
          reported,
          counted);
    }
    before = now;
  }
}
