package dev.sluice.cli.console;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AssetsTest {
  final Assets assets = new Assets();

  @Test
  void mapsTheConsolesPathsToItsResourcesAndUplotsWebJar() {
    assertThat(assets.resource("/")).isEqualTo("console/index.html");
    assertThat(assets.resource("/static/app.js")).isEqualTo("console/app.js");
    assertThat(assets.resource("/vendor/uplot/uPlot.esm.js"))
        .startsWith("META-INF/resources/webjars/uplot/")
        .endsWith("/dist/uPlot.esm.js");
    assertThat(
            getClass().getClassLoader().getResource(assets.resource("/vendor/uplot/uPlot.esm.js")))
        .isNotNull();
  }

  @Test
  void nothingOutsideThem() {
    assertThat(assets.resource("/static/../logback.xml")).isNull();
    assertThat(assets.resource("/static//etc/passwd")).isNull();
    assertThat(assets.resource("/logback.xml")).isNull();
    assertThat(assets.resource("/static/")).isNull();
    assertThat(assets.resource("/vendor/uplot/..\\x")).isNull();
  }
}
