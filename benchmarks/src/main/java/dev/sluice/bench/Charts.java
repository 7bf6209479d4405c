package dev.sluice.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG charts of the results (XChart), written into the {@code --out} directory. */
final class Charts {
  private static final int WIDTH = 800;
  private static final int HEIGHT = 450;

  private final Path dir;
  private final List<Path> written = new ArrayList<>();

  Charts(Path dir) {
    this.dir = dir;
    System.setProperty("java.awt.headless", "true");
  }

  /** The files written so far. */
  List<Path> written() {
    return List.copyOf(written);
  }

  /**
   * Backlog over the measured period, one line per pipeline, on a logarithmic axis: an unbounded
   * backlog and a bounded one differ by orders of magnitude and must both be readable.
   */
  void backlog(String file, String title, Map<String, List<Result.Sample>> series) {
    XYChart c =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle("seconds into the measured period")
            .yAxisTitle("messages in the queue (log)")
            .build();
    c.getStyler().setYAxisLogarithmic(true);
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    series.forEach(
        (name, samples) -> {
          if (samples.isEmpty()) {
            return;
          }
          double[] x = samples.stream().mapToDouble(Result.Sample::t).toArray();
          // A log axis has no zero: an empty queue is drawn at 1.
          double[] y = samples.stream().mapToDouble(s -> Math.max(1, s.backlog())).toArray();
          XYSeries s = c.addSeries(name, x, y);
          s.setMarker(SeriesMarkers.NONE);
        });
    save(c, file);
  }

  /** One bar per name, labelled with its value. */
  void bars(String file, String title, String yTitle, Map<String, Double> values) {
    CategoryChart c =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .yAxisTitle(yTitle)
            .build();
    c.getStyler().setLegendVisible(false);
    c.getStyler().setLabelsVisible(true);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.addSeries(
        yTitle,
        new ArrayList<>(values.keySet()),
        values.values().stream().map(Charts::oneDecimal).toList());
    save(c, file);
  }

  /**
   * Grouped bars: one group per category (e.g. "JVM", "server"), one bar per series (e.g. raw,
   * sluice) within it.
   */
  void groupedBars(
      String file,
      String title,
      String yTitle,
      List<String> categories,
      Map<String, List<Double>> series) {
    CategoryChart c =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .yAxisTitle(yTitle)
            .build();
    c.getStyler().setLabelsVisible(true);
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    series.forEach(
        (name, values) ->
            c.addSeries(name, categories, values.stream().map(Charts::oneDecimal).toList()));
    save(c, file);
  }

  /**
   * Latency p50, p99, p99.9 per pipeline, as lines on a logarithmic axis (XChart draws no bars on a
   * logarithmic axis, and milliseconds beside seconds need one).
   */
  void percentiles(String file, String title, Map<String, Result> results) {
    CategoryChart c =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .yAxisTitle("ms (log)")
            .build();
    c.getStyler().setYAxisLogarithmic(true);
    c.getStyler().setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Line);
    c.getStyler().setLabelsVisible(true);
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    List<String> ps = List.of("p50", "p99", "p99.9");
    results.forEach(
        (name, r) ->
            c.addSeries(
                String.format(
                    java.util.Locale.ROOT,
                    "%s: %.2f / %.2f / %.2f ms",
                    name,
                    r.p50Ms(),
                    r.p99Ms(),
                    r.p999Ms()),
                ps,
                List.of(
                    Math.max(0.001, r.p50Ms()),
                    Math.max(0.001, r.p99Ms()),
                    Math.max(0.001, r.p999Ms()))));
    save(c, file);
  }

  /** Bar labels print the value as given: one decimal is enough to read. */
  private static double oneDecimal(double v) {
    return Math.round(v * 10) / 10.0;
  }

  private void save(Chart<?, ?> chart, String file) {
    try {
      Files.createDirectories(dir);
      Path p = dir.resolve(file);
      BitmapEncoder.saveBitmap(chart, p.toString(), BitmapEncoder.BitmapFormat.PNG);
      written.add(p.toString().endsWith(".png") ? p : Path.of(p + ".png"));
    } catch (IOException e) {
      throw new UncheckedIOException("could not write chart " + file + " into " + dir, e);
    }
  }
}
