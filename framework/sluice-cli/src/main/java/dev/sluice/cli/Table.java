package dev.sluice.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** A plain-text table: a header row and rows of cells, columns padded to their widest cell. */
final class Table {
  private final List<String> headers;
  static final String RESET = "\033[0m";
  private final List<List<String>> rows = new ArrayList<>();
  private int colourColumn = -1;
  private Function<String, String> colourOf;

  Table(String... headers) {
    this.headers = List.of(headers);
  }

  Table row(Object... cells) {
    List<String> r = new ArrayList<>();
    for (Object c : cells) {
      r.add(c == null ? "-" : c.toString());
    }
    rows.add(r);
    return this;
  }

  /**
   * Colours the cells of {@code column} (not its header) with the ANSI colour {@code ansi} gives
   * for the cell's text (null: no colour). Off unless called: pipes and files get plain text.
   */
  Table colour(int column, Function<String, String> ansi) {
    this.colourColumn = column;
    this.colourOf = ansi;
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  void print(PrintWriter out) {
    print(out, 0);
  }

  /** Prints the table, each line cut to {@code maxWidth} characters when it is positive. */
  void print(PrintWriter out, int maxWidth) {
    int[] w = new int[headers.size()];
    for (int i = 0; i < w.length; i++) {
      w[i] = headers.get(i).length();
      for (List<String> r : rows) {
        if (i < r.size()) {
          w[i] = Math.max(w[i], r.get(i).length());
        }
      }
    }
    line(out, headers, w, maxWidth, false);
    for (List<String> r : rows) {
      line(out, r, w, maxWidth, colourOf != null);
    }
    out.flush();
  }

  private void line(
      PrintWriter out, List<String> cells, int[] w, int maxWidth, boolean colourCells) {
    StringBuilder sb = new StringBuilder();
    int colourStart = -1;
    int colourEnd = -1;
    for (int i = 0; i < w.length; i++) {
      String c = i < cells.size() ? cells.get(i) : "";
      if (i == colourColumn) {
        colourStart = sb.length();
        colourEnd = colourStart + c.length();
      }
      sb.append(c);
      if (i < w.length - 1) {
        sb.append(" ".repeat(w[i] - c.length() + 2));
      }
    }
    String plain = sb.toString().stripTrailing();
    if (maxWidth > 0 && plain.length() > maxWidth) {
      plain = plain.substring(0, maxWidth).stripTrailing();
    }
    String ansi =
        colourCells && colourStart >= 0 && colourEnd <= plain.length()
            ? colourOf.apply(plain.substring(colourStart, colourEnd))
            : null;
    if (ansi != null) {
      plain =
          plain.substring(0, colourStart)
              + ansi
              + plain.substring(colourStart, colourEnd)
              + RESET
              + plain.substring(colourEnd);
    }
    out.println(plain);
  }

  /** A duration in milliseconds as {@code 850ms}, {@code 12.3s}, {@code 4m05s} or {@code 2h10m}. */
  static String age(Long ms) {
    if (ms == null) {
      return "-";
    }
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return String.format("%.1fs", ms / 1000.0);
    }
    long s = ms / 1000;
    if (s < 3600) {
      return String.format("%dm%02ds", s / 60, s % 60);
    }
    return String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
  }
}
