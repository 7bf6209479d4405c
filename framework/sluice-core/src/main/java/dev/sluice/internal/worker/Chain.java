package dev.sluice.internal.worker;

import java.util.List;

/**
 * The steps a delivery goes through, linked once at start (no allocation per message). A step that
 * is not configured is not in the list and costs nothing. Thread-safe: immutable.
 */
final class Chain {
  private final List<Step> steps;
  private final Step.Next head;

  Chain(List<Step> steps) {
    this.steps = List.copyOf(steps);
    Step.Next next =
        d -> {
          throw new IllegalStateException("the handler step must be the last step of the chain");
        };
    for (int i = this.steps.size() - 1; i >= 0; i--) {
      Step step = this.steps.get(i);
      Step.Next after = next;
      next = d -> step.handle(d, after);
    }
    this.head = next;
  }

  /** Runs {@code d} through every step; throws what the handler (or a step) failed with. */
  void run(Delivery d) throws Exception {
    head.proceed(d);
  }

  /** The steps' names in order, for diagnostics and tests. */
  List<String> names() {
    return steps.stream().map(s -> s.getClass().getSimpleName()).toList();
  }
}
