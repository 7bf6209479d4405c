package dev.sluice.internal.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Health;
import org.junit.jupiter.api.Test;

/** The advert's {@code problem} (PROTOCOL.md §5.2) as the worker's health builds it. */
class WorkerHealthProblemTest {
  @Test
  void emptyWhileHealthyOneCodedLinePerProblemWhileFailing() {
    WorkerHealth h = new WorkerHealth(BreakerState.NEVER_OPEN);
    assertThat(h.advertProblem()).isEmpty();

    h.deadLetterProblem("dead-letter records cannot be written to SLUICE_DLQ (no responders)");
    h.storeProblem("idempotency store failing (timeout)");
    h.problem(PullLoop.DENIED_PULLS + " (Permissions Violation)");
    assertThat(h.state()).isEqualTo(Health.State.FAILING);
    assertThat(h.advertProblem())
        .isEqualTo(
            "pull-denied: "
                + PullLoop.DENIED_PULLS
                + " (Permissions Violation)\n"
                + "dlq-unwritable: dead-letter records cannot be written to SLUICE_DLQ (no"
                + " responders)\n"
                + "idempotency-store: idempotency store failing (timeout)");

    h.problem("stream SLUICE_Q_a does not exist (deleted?)\nre-provision");
    h.deadLetterProblem("");
    h.storeProblem("");
    assertThat(h.advertProblem())
        .isEqualTo("not-consuming: stream SLUICE_Q_a does not exist (deleted?) re-provision");

    h.problem("");
    assertThat(h.advertProblem()).isEmpty();
    assertThat(h.state()).isEqualTo(Health.State.RUNNING);
  }

  @Test
  void aLongTextIsCutToWholeCharactersWithinItsBytes() {
    String cut = WorkerHealth.cut("é".repeat(WorkerHealth.TEXT_MAX_BYTES));
    assertThat(cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
        .isEqualTo(WorkerHealth.TEXT_MAX_BYTES);
    assertThat(WorkerHealth.cut("short")).isEqualTo("short");
  }
}
