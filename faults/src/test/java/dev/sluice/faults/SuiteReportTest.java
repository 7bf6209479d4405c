package dev.sluice.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The report's shape is a contract: scripts and dashboards read {@code scripts/faults --json}. If a
 * key were renamed or a verdict computed wrongly, a failed scenario could read as passed.
 */
class SuiteReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Ledger clean(int n) {
    Ledger l = new Ledger();
    for (int i = 0; i < n; i++) {
      l.acked("m" + i).effect("m" + i);
    }
    return l;
  }

  @Test
  void jsonHasTheDocumentedKeysInOrder() throws Exception {
    SuiteReport r = new SuiteReport();
    r.add(ScenarioResult.of("producer-kill", clean(3), true, 1.234, null, "ok"));

    JsonNode top = JSON.readTree(r.json());

    assertThat(top.fieldNames()).toIterable().containsExactly("scenarios", "passed", "failed");
    JsonNode s = top.get("scenarios").get(0);
    assertThat(s.fieldNames())
        .toIterable()
        .containsExactly(
            "name",
            "acked",
            "processed",
            "dead_lettered",
            "lost",
            "duplicate_effects",
            "credits_converged",
            "recovery_s",
            "passed",
            "detail");
    assertThat(s.get("name").asText()).isEqualTo("producer-kill");
    assertThat(s.get("acked").asLong()).isEqualTo(3);
    assertThat(s.get("processed").asLong()).isEqualTo(3);
    assertThat(s.get("lost").asLong()).isZero();
    assertThat(s.get("credits_converged").asBoolean()).isTrue();
    assertThat(s.get("recovery_s").asDouble()).as("rounded to a tenth").isEqualTo(1.2);
    assertThat(s.get("passed").asBoolean()).isTrue();
    assertThat(top.get("passed").asLong()).isEqualTo(1);
    assertThat(top.get("failed").asLong()).isZero();
  }

  @Test
  void aLostMessageFailsTheScenarioAndNamesIt() {
    Ledger l = clean(2).acked("gone");

    ScenarioResult r = ScenarioResult.of("worker-kill", l, true, 2, null, "ok");

    assertThat(r.passed()).isFalse();
    assertThat(r.lost()).isEqualTo(1);
    assertThat(r.detail()).contains("gone");
  }

  @Test
  void aDuplicateEffectFailsTheScenario() {
    ScenarioResult r = ScenarioResult.of("x", clean(2).effect("m1"), true, 2, null, "ok");

    assertThat(r.passed()).isFalse();
    assertThat(r.duplicateEffects()).isEqualTo(1);
    assertThat(r.detail()).contains("1 duplicate effects (first: m1)");
  }

  @Test
  void unconvergedCreditsOrAFailedCheckFailTheScenario() {
    ScenarioResult credits = ScenarioResult.of("x", clean(1), false, -1, null, "ok");
    ScenarioResult check = ScenarioResult.of("y", clean(1), true, 1, "token accepted", "ok");

    assertThat(credits.passed()).isFalse();
    assertThat(credits.detail()).contains("credits did not converge");
    assertThat(check.passed()).isFalse();
    assertThat(check.detail()).isEqualTo("token accepted");
  }

  @Test
  void exitCodeIsZeroOnlyWhenEveryScenarioPassed() {
    SuiteReport none = new SuiteReport();
    SuiteReport mixed = new SuiteReport();
    mixed.add(ScenarioResult.of("a", clean(1), true, 1, null, "ok"));
    mixed.add(ScenarioResult.aborted("b", new Ledger(), "no server"));
    SuiteReport good = new SuiteReport();
    good.add(ScenarioResult.of("a", clean(1), true, 1, null, "ok"));

    assertThat(none.exitCode()).as("an empty run proves nothing").isEqualTo(1);
    assertThat(mixed.exitCode()).isEqualTo(1);
    assertThat(mixed.passed()).isEqualTo(1);
    assertThat(mixed.failed()).isEqualTo(1);
    assertThat(good.exitCode()).isZero();
  }

  @Test
  void jsonIsOneLineAndTheTableNamesEachFailure() throws Exception {
    SuiteReport r = new SuiteReport();
    r.add(ScenarioResult.aborted("forged-credits", new Ledger(), "no permissions command"));
    ByteArrayOutputStream json = new ByteArrayOutputStream();
    ByteArrayOutputStream table = new ByteArrayOutputStream();

    r.print(true, new PrintStream(json, true, StandardCharsets.UTF_8));
    r.print(false, new PrintStream(table, true, StandardCharsets.UTF_8));

    List<String> lines = json.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).hasSize(1);
    assertThat(JSON.readTree(lines.get(0)).get("scenarios").get(0).get("detail").asText())
        .isEqualTo("aborted: no permissions command");
    assertThat(table.toString(StandardCharsets.UTF_8))
        .contains("forged-credits")
        .contains("FAILED: aborted: no permissions command")
        .contains("0 passed, 1 failed");
  }
}
