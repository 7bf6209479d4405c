package dev.sluice.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The demo's command line: the flags and defaults that scripts/demo and docs/DEMO.md use. */
class DemoOptionsTest {
  @Test
  void defaultsAreTheDocumentedOnes() {
    DemoOptions o = DemoOptions.parse("--server", "nats://h:1");
    assertThat(o.server()).isEqualTo("nats://h:1");
    assertThat(o.messages()).isEqualTo(3000);
    assertThat(o.workers()).isEqualTo(3);
    assertThat(o.failRate()).isEqualTo(0.05);
    assertThat(o.poisonRate()).as("fail-rate / 5").isEqualTo(0.01);
    assertThat(o.v1Share()).isEqualTo(0.2);
    assertThat(o.workMs()).isEqualTo(10);
    assertThat(o.concurrency()).isEqualTo(4);
    assertThat(o.prefetch()).isEqualTo(28);
    assertThat(o.config()).isEqualTo(Path.of("jetstream-config"));
    assertThat(o.drainTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(o.progress()).isEqualTo(DemoOptions.Progress.LINES);
    assertThat(o.json()).isFalse();
  }

  @Test
  void everyFlagIsRead() {
    DemoOptions o =
        DemoOptions.parse(
            "--server",
            "nats://h:1",
            "--messages",
            "10",
            "--workers",
            "2",
            "--fail-rate",
            "0.5",
            "--poison-rate",
            "0.25",
            "--v1-share",
            "0.75",
            "--work-ms",
            "3",
            "--concurrency",
            "6",
            "--prefetch",
            "10",
            "--config",
            "cfg",
            "--drain-timeout",
            "5",
            "--progress",
            "tty",
            "--json",
            "--seed",
            "42");
    assertThat(o.messages()).isEqualTo(10);
    assertThat(o.workers()).isEqualTo(2);
    assertThat(o.failRate()).isEqualTo(0.5);
    assertThat(o.poisonRate()).isEqualTo(0.25);
    assertThat(o.v1Share()).isEqualTo(0.75);
    assertThat(o.workMs()).isEqualTo(3);
    assertThat(o.concurrency()).isEqualTo(6);
    assertThat(o.prefetch()).isEqualTo(10);
    assertThat(o.config()).isEqualTo(Path.of("cfg"));
    assertThat(o.drainTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(o.progress()).isEqualTo(DemoOptions.Progress.TTY);
    assertThat(o.json()).isTrue();
    assertThat(o.seed()).isEqualTo(42);
  }

  @Test
  void badInputNamesTheProblem() {
    assertThatThrownBy(() -> DemoOptions.parse("--messages", "5"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--server");
    assertThatThrownBy(() -> DemoOptions.parse("--server", "u", "--frobnicate"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--frobnicate");
    assertThatThrownBy(() -> DemoOptions.parse("--server", "u", "--fail-rate", "2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fail-rate");
  }
}
