package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcCpuTest {
  // A real line of /proc/<pid>/stat: utime (field 14) = 1500, stime (field 15) = 250.
  private static final String JAVA =
      "4242 (java) S 1 4242 4242 0 -1 4194560 120000 0 12 0 1500 250 0 0 20 0 42 0 1234 "
          + "3000000000 50000 18446744073709551615 1 1 0 0 0 0 0 4096 16796879 0 0 0 17 1 0 0 0 0 0";

  @Test
  void sumsUtimeAndStime() {
    // Were the fields miscounted, CPU per message would be a page-fault count or a priority.
    assertThat(ProcCpu.ticks(JAVA)).isEqualTo(1750);
  }

  @Test
  void countsFieldsAfterACommandNameWithSpacesAndParentheses() {
    // A thread or process may be named "a) b": splitting on spaces from the start would shift
    // every field by two.
    String odd = JAVA.replace("(java)", "(nats) x (y))");
    assertThat(ProcCpu.ticks(odd)).isEqualTo(1750);
  }

  @Test
  void rejectsWhatIsNotAStatLine() {
    assertThatThrownBy(() -> ProcCpu.ticks("no parenthesis here"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ProcCpu.ticks("1 (x) S 1 2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fields");
  }

  @Test
  void readsThisJvmAndGivesMinusOneForAProcessThatIsGone() {
    // Reads a live file: this JVM has used some CPU by now.
    assertThat(ProcCpu.micros(ProcCpu.self())).isPositive();
    assertThat(ProcCpu.micros(Integer.MAX_VALUE)).isEqualTo(-1);
  }
}
