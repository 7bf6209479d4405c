package dev.sluice.internal.worker;

import io.nats.client.Message;

/**
 * Whether the handler's circuit is open, and its probes (protocol §7.6), as the pull loop, the
 * dispatcher and the advert see it. A probe the pull loop takes with {@link #tryProbe()} ends in
 * exactly one way: its message's handler run decides ({@link BreakerStep}); its message leaves the
 * worker's hands without a counted run ({@link #released}); its pull expires empty ({@link
 * #probeFoundNothing()}); or its pull is lost ({@link #probeLost()}). Thread-safe.
 */
interface BreakerState {
  /** A circuit that never opens: the state of a worker without a circuit breaker. */
  BreakerState NEVER_OPEN =
      new BreakerState() {
        @Override
        public boolean open() {
          return false;
        }

        @Override
        public boolean tryProbe() {
          return true;
        }

        @Override
        public void probeArrived(Message m) {}

        @Override
        public void probeFoundNothing() {}

        @Override
        public void probeLost() {}

        @Override
        public void released(Message m) {}
      };

  /** True while the circuit is open or half-open: pull nothing but probes. */
  boolean open();

  /** True when one probe may be pulled now; the pull loop then pulls exactly one message. */
  boolean tryProbe();

  /** The probe pull brought {@code m}: its handler run, if it has one, decides the circuit. */
  void probeArrived(Message m);

  /** The probe pull expired with no message: the queue is empty, the circuit closes (§7.6 3.). */
  void probeFoundNothing();

  /** The probe pull was lost with no message (the subscription failed): the next pull probes. */
  void probeLost();

  /**
   * {@code m} left the worker's hands. A probe settled without a counted handler run (§7.6 2.: a
   * rejection, a duplicate, a payload that does not decode, a type not handled here) ends with no
   * verdict, and the next pull probes.
   */
  void released(Message m);
}
