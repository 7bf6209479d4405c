package dev.sluice.cli.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HistoryTest {
  static double[] values(double backlog) {
    return new double[] {backlog, 8, 2, 0, 1, 0.5, Double.NaN};
  }

  @Test
  void keepsTheLastSamplesOldestFirstInColumns() {
    History h = new History(3);
    for (int i = 1; i <= 5; i++) {
      h.add("orders", 1000L * i, values(i));
    }
    Map<String, List<Number>> c = h.columns().get("orders");
    assertThat(h.size("orders")).isEqualTo(3);
    assertThat(c.get("t")).containsExactly(3000L, 4000L, 5000L);
    assertThat(c.get("backlog")).containsExactly(3L, 4L, 5L);
    assertThat(c.get("service_rate")).containsExactly(0.5, 0.5, 0.5);
    assertThat(c.get("dead_letters")).containsExactly(null, null, null);
    assertThat(c.keySet())
        .containsExactly(
            "t",
            "backlog",
            "window",
            "credits_available",
            "producers_waiting",
            "in_flight",
            "service_rate",
            "dead_letters");
  }

  @Test
  void forgetsQueuesThatAreGone() {
    History h = new History(10);
    h.add("a", 1, values(1));
    h.add("b", 1, values(1));
    h.retain(Set.of("b"));
    assertThat(h.columns()).containsOnlyKeys("b");
    assertThat(h.size("a")).isZero();
  }

  @Test
  void refusesSamplesOfTheWrongWidth() {
    History h = new History(2);
    assertThatThrownBy(() -> h.add("a", 1, new double[] {1}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new History(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
