package dev.sluice.internal.worker;

/** Whether the handler's circuit is open, as the pull loop and the advert see it. Thread-safe. */
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
      };

  /** True while the circuit is open or half-open: pull nothing but probes. */
  boolean open();

  /** True when one probe may run now. */
  boolean tryProbe();
}
