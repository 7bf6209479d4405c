package dev.sluice.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The rate-limit benchmark's picture: messages per second over time against the limit. */
final class RateChart {
  private final Path dir;

  RateChart(Path dir) {
    this.dir = dir;
    System.setProperty("java.awt.headless", "true");
  }

  /** One point per second, with the limit and limit + burst as flat lines. */
  void rate(
      String file, String title, double[] perSecond, double limit, double ceiling, int warmup) {
    XYChart c =
        new XYChartBuilder()
            .width(800)
            .height(450)
            .title(title)
            .xAxisTitle("seconds from the first message (the first " + warmup + " s are warm-up)")
            .yAxisTitle("messages handled per second")
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setYAxisMin(0.0);
    c.getStyler().setYAxisMax(ceiling * 1.2);
    double[] x = new double[perSecond.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i + 1;
    }
    XYSeries observed = c.addSeries("observed", x, perSecond);
    observed.setMarker(SeriesMarkers.CIRCLE);
    double[] edges = {0, Math.max(1, x.length)};
    c.addSeries("limit", edges, new double[] {limit, limit}).setMarker(SeriesMarkers.NONE);
    c.addSeries("limit + burst", edges, new double[] {ceiling, ceiling})
        .setMarker(SeriesMarkers.NONE);
    try {
      Files.createDirectories(dir);
      BitmapEncoder.saveBitmap(c, dir.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write chart " + file + " into " + dir, e);
    }
  }
}
