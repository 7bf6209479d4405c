package dev.sluice.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The report's output is a contract: scripts/conformance and docs/CONFORMANCE.md read the last
 * {@code --json} line, and the per-check lines are documented byte for byte.
 */
class ReportTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int print(Report r, boolean json) {
    return r.print(
        json,
        Path.of("/tmp/logs"),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private List<String> outLines() {
    return out.toString(StandardCharsets.UTF_8).lines().toList();
  }

  @Test
  void jsonEndsWithTheSummaryLineCountingEachLanguageOfEachCheck() {
    Report r = new Report();
    r.check("s", "both pass", List.of("go", "java"), true, "");
    r.check("s", "java fails", List.of("java"), false, "why");

    int code = print(r, true);

    // Without this exact last line scripts/conformance and the documented summary lose the counts.
    List<String> lines = outLines();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(2))
        .isEqualTo(
            "{\"peers\":{\"java\":{\"passed\":1,\"failed\":1},\"go\":{\"passed\":1,\"failed\":0},"
                + "\"rust\":{\"passed\":0,\"failed\":0}}}");
    assertThat(code).isEqualTo(1);
  }

  @Test
  void jsonCheckLineHasTheDocumentedFieldsInOrderWithSortedPeers() {
    Report r = new Report();
    r.check(
        "contention-and-credit-bound", "credit bound", List.of("rust", "go", "java"), true, null);

    int code = print(r, true);

    // A reordered or renamed field would break every consumer of the documented line shape.
    assertThat(outLines().get(0))
        .isEqualTo(
            "{\"scenario\":\"contention-and-credit-bound\",\"check\":\"credit bound\","
                + "\"peers\":[\"go\",\"java\",\"rust\"],\"passed\":true,\"detail\":\"\"}");
    assertThat(code).isZero();
  }

  @Test
  void jsonEscapesQuotesAndNewlinesInDetails() {
    Report r = new Report();
    r.check("s", "c", List.of("go"), false, "stderr: \"boom\"\nnext");

    print(r, true);

    // An unescaped detail would split one check over two lines and corrupt the stream.
    assertThat(outLines().get(0)).contains("\"detail\":\"stderr: \\\"boom\\\"\\nnext\"");
    assertThat(JsonLines.parseObject(outLines().get(0)).get("detail").asText())
        .isEqualTo("stderr: \"boom\"\nnext");
  }

  @Test
  void readableReportGroupsByScenarioAndSendsTheSummaryToStderr() {
    Report r = new Report();
    r.check("one", "first", List.of("go"), true, "");
    r.check("two", "second", List.of("rust"), false, "detail here");
    r.scenarioTime("one", 1_500_000_000L);

    int code = print(r, false);

    // The readable report must name failures with their detail, and keep stdout free of JSON.
    String text = out.toString(StandardCharsets.UTF_8);
    assertThat(text)
        .contains("== one\n  PASS [go] first\n")
        .contains("== two\n  FAIL [rust] second\n         detail here\n")
        .contains("scenario times: one 1.5 s")
        .contains("peer logs: /tmp/logs")
        .contains("rust  passed   0  failed   1")
        .endsWith("CONFORMANCE FAILED\n")
        .doesNotContain("{\"peers\"");
    assertThat(err.toString(StandardCharsets.UTF_8).strip())
        .isEqualTo(
            "{\"peers\":{\"java\":{\"passed\":0,\"failed\":0},\"go\":{\"passed\":1,\"failed\":0},"
                + "\"rust\":{\"passed\":0,\"failed\":1}}}");
    assertThat(code).isEqualTo(1);
  }

  @Test
  void summarizeCountsEveryProblemButListsTheFirstFive() {
    // A detail that lists hundreds of ids would drown the report; one that drops the count hides
    // how bad it was.
    assertThat(Report.summarize(List.of())).isEmpty();
    assertThat(Report.summarize(List.of("a", "b", "c", "d", "e", "f", "g")))
        .isEqualTo("7: a; b; c; d; e");
  }
}
