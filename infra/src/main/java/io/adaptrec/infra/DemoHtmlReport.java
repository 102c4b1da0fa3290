package io.adaptrec.infra;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The demo's JSON report tree as one self-contained HTML page: summary tables plus inline SVG charts drawn here
 * (no scripts, no external assets, so the file opens offline anywhere). Every key may be missing: a chart without
 * data says so instead of failing.
 */
final class DemoHtmlReport {
  private static final String[] PALETTE = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  private static final String BASELINE = "#7f7f7f";
  private static final int W = 760, H = 330, ML = 72, MR = 24, MT = 62, MB = 48;
  private static final String CSS = "body{font:14px/1.4 system-ui,sans-serif;max-width:800px;margin:2em auto;color:#222}.note{color:#555;font-style:italic}"
      + "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;"
      + "text-align:left;vertical-align:top}th{background:#f3f3f3}figure{margin:1em 0 2em}figcaption{color:#555;"
      + "font-size:13px}svg{background:#fff;border:1px solid #ddd}svg text{font:11px system-ui,sans-serif;fill:#333}"
      + "svg .title{font-size:14px;font-weight:600}svg .nodata,.nodata{fill:#888;color:#888;font-style:italic}"
      + ".axis{stroke:#333}.grid{stroke:#eee}.PROMOTE{color:#2ca02c}.ROLLBACK,.ABORT{color:#d62728}.PAUSE{color:#ff7f0e}";

  private DemoHtmlReport() {}

  /** Writes the page for {@code report} to {@code file} (UTF-8), creating its directory. */
  static void write(Path file, Map<String, Object> report) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(file, render(report));
  }

  /** The whole page for the demo's report tree (maps, lists, numbers, strings, booleans). */
  static String render(Map<String, Object> report) {
    Map<String, Object> r = report == null ? Map.of() : report;
    Map<String, Object> series = map(r.get("series"));
    String dataset = str(r.get("dataset"));
    String heading = "AdaptRec demo" + (dataset.isEmpty() ? "" : " on " + dataset);
    StringBuilder out = new StringBuilder(64 * 1024);
    out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>").append(esc(heading))
        .append("</title>\n<style>").append(CSS).append("</style>\n</head><body>\n<h1>").append(esc(heading)).append("</h1>\n");
    summary(out, r);
    out.append("<h2>Charts</h2>\n");
    out.append(hrChart(list(series.get("hr_by_arm")), num(r.get("online_hr@1_popular"))));
    out.append(latencyChart(map(series.get("latency_ms")), num(r.get("p50_ms")), num(r.get("p99_ms"))));
    out.append(freshnessChart(map(series.get("freshness_ms")), map(r.get("freshness"))));
    List<Object> points = list(series.get("experiment"));
    experimentCharts(out, points.isEmpty() ? list(r.get("rollout_decisions")) : points);
    decisions(out, list(r.get("rollout_decisions")));
    adapters(out, r);
    return out.append("</body></html>\n").toString();
  }

  // ---- tables

  private static void summary(StringBuilder out, Map<String, Object> r) {
    out.append("<h2>Summary</h2>\n<table class=\"summary\">\n");
    row(out, "dataset", str(r.get("dataset")).isEmpty() ? "–" : str(r.get("dataset")));
    row(out, "duration", fmt(num(r.get("duration_s")), " s"));
    for (String k : List.of("interactions_replayed", "requests", "responses", "errors", "unanswered")) {
      row(out, k.replace('_', ' '), fmt(num(r.get(k)), ""));
    }
    row(out, "responses by arm", joined(map(r.get("responses_by_arm")), ""));
    Double popHr = num(r.get("online_hr@1_popular")), popNdcg = num(r.get("online_ndcg@10_popular"));
    row(out, "online HR@1", joined(map(r.get("online_hr@1")), "") + (popHr == null ? "" : "; popular " + fmt(popHr, "")));
    row(out, "online NDCG@10", joined(map(r.get("online_ndcg@10")), "")
        + (popNdcg == null ? "" : "; popular " + fmt(popNdcg, "")));
    row(out, "latency p50 / p99", fmt(num(r.get("p50_ms")), " ms") + " / " + fmt(num(r.get("p99_ms")), " ms"));
    row(out, "freshness p99", fmt(num(r.get("freshness_p99_ms")), " ms"));
    map(r.get("freshness")).forEach((stage, v) -> {
      Map<String, Object> f = map(v);
      row(out, "freshness " + stage, "p50 " + fmt(num(f.get("p50_ms")), " ms") + ", p99 " + fmt(num(f.get("p99_ms")), " ms")
          + " (" + fmt(num(f.get("n")), "") + " records)");
    });
    row(out, "dead letters", joined(map(r.get("dead_letters")), ""));
    row(out, "adapters published", fmt(num(r.get("adapters_published")), ""));
    row(out, "adapters rejected", r.get("adapters_rejected") == null ? "–"
        : Integer.toString(list(r.get("adapters_rejected")).size()));
    out.append("</table>\n");
  }

  private static void decisions(StringBuilder out, List<Object> rows) {
    out.append("<h2>Rollout decisions</h2>\n");
    if (rows.isEmpty()) {
      out.append("<p class=\"nodata\">no data: no rollout decisions in the report</p>\n");
      return;
    }
    out.append("<table class=\"decisions\">\n<tr><th>t (s)</th><th>experiment</th><th>action</th><th>actor</th><th>reason</th>"
        + "<th>Λ</th><th>boundary</th><th>p-value</th><th>effect [low, high]</th><th>samples control / treatment</th></tr>\n");
    for (Object o : rows) {
      Map<String, Object> d = map(o);
      String action = str(d.get("action"));
      out.append("<tr>").append(td(fmt(num(d.get("t_s")), ""))).append(td(str(d.get("experiment"))))
          .append("<td class=\"").append(esc(action)).append("\">").append(esc(action)).append("</td>")
          .append(td(str(d.get("actor")))).append(td(str(d.get("reason")))).append(td(fmt(num(d.get("statistic")), "")))
          .append(td(fmt(num(d.get("boundary")), ""))).append(td(fmt(num(d.get("p_value")), "")))
          .append(td(fmt(num(d.get("effect")), "") + " [" + fmt(num(d.get("low")), "") + ", " + fmt(num(d.get("high")), "") + "]"))
          .append(td(fmt(num(d.get("samples_control")), "") + " / " + fmt(num(d.get("samples_treatment")), "")))
          .append("</tr>\n");
    }
    out.append("</table>\n");
  }

  private static void adapters(StringBuilder out, Map<String, Object> r) {
    out.append("<h2>Adapters</h2>\n");
    List<Object> all = list(r.get("adapters")), rejected = list(r.get("adapters_rejected"));
    if (all.isEmpty() && rejected.isEmpty()) {
      out.append("<p class=\"nodata\">no data: no adapters in the report</p>\n");
    }
    if (!all.isEmpty()) {
      out.append("<table class=\"adapters\">\n<tr><th>version</th><th>state</th><th>reason</th></tr>\n");
      all.forEach(o -> out.append("<tr>").append(td(str(map(o).get("version")))).append(td(str(map(o).get("state"))))
          .append(td(str(map(o).get("reason")))).append("</tr>\n"));
      out.append("</table>\n");
    }
    if (!rejected.isEmpty()) {
      out.append("<h3>Rejected before publication</h3>\n<table class=\"rejected\">\n<tr><th>version</th><th>reason</th></tr>\n");
      rejected.forEach(o -> out.append("<tr>").append(td(str(map(o).get("version")))).append(td(str(map(o).get("reason"))))
          .append("</tr>\n"));
      out.append("</table>\n");
    }
  }

  private static void row(StringBuilder out, String label, String value) {
    out.append("<tr><th>").append(esc(label)).append("</th>").append(td(value)).append("</tr>\n");
  }

  private static String td(String text) {
    return "<td>" + esc(text) + "</td>";
  }

  private static String joined(Map<String, Object> values, String unit) {
    if (values.isEmpty()) {
      return "–";
    }
    return values.entrySet().stream().map(e -> e.getKey() + " " + (num(e.getValue()) == null ? str(e.getValue())
        : fmt(num(e.getValue()), unit))).collect(Collectors.joining(", "));
  }

  // ---- charts

  private static String hrChart(List<Object> rows, Double popularFinal) {
    String title = "Online HR@1 per arm over time";
    String caption = "Cumulative share of answered requests whose top-1 recommendation was the user's next interaction,"
        + " per arm; grey dashed: the most-popular baseline.";
    Map<String, List<double[]>> byArm = new LinkedHashMap<>();
    for (Object o : rows) {
      Double t = num(map(o).get("t_s")), hr = num(map(o).get("hr1"));
      if (finite(t) && finite(hr)) {
        String arm = str(map(o).get("arm"));
        byArm.computeIfAbsent(arm.isEmpty() ? "?" : arm, a -> new ArrayList<>()).add(new double[] {t, hr});
      }
    }
    if (byArm.isEmpty()) {
      return noData(title, caption, "no HR@1 samples in the report");
    }
    List<double[]> all = byArm.values().stream().flatMap(List::stream).collect(Collectors.toList());
    double yMax = Math.max(all.stream().mapToDouble(p -> p[1]).max().orElse(0), finite(popularFinal) ? popularFinal : 0);
    Scale x = Scale.linear(all.stream().mapToDouble(p -> p[0]).min().orElse(0), all.stream().mapToDouble(p -> p[0]).max()
        .orElse(1), ML, W - MR);
    Scale y = Scale.linear(0, Math.max(yMax * 1.1, 0.01), H - MB, MT);
    StringBuilder s = open(title);
    axes(s, x, y, "time since start (s)", "HR@1 (cumulative)");
    List<String[]> legend = new ArrayList<>();
    int i = 0;
    for (Map.Entry<String, List<double[]>> e : byArm.entrySet()) {
      boolean base = e.getKey().equals("popular");
      String colour = base ? BASELINE : PALETTE[i++ % PALETTE.length];
      e.getValue().sort(Comparator.comparingDouble(p -> p[0]));
      s.append(polyline(e.getValue(), x, y, colour, base));
      double[] last = e.getValue().get(e.getValue().size() - 1);
      s.append(circle(x.px(last[0]), y.px(last[1]), 3, colour));
      legend.add(new String[] {e.getKey(), colour, base ? "dash" : ""});
    }
    if (!byArm.containsKey("popular") && finite(popularFinal)) {
      s.append(line(ML, y.px(popularFinal), W - MR, y.px(popularFinal), "baseline", BASELINE, true));
      legend.add(new String[] {"popular (final)", BASELINE, "dash"});
    }
    legend(s, legend);
    return close(s, caption);
  }

  private static String latencyChart(Map<String, Object> hist, Double p50, Double p99) {
    String title = "Response latency histogram";
    String caption = "Responses per latency bucket (log-spaced buckets on a log axis); dashed lines mark p50 and p99.";
    Histogram h = Histogram.of(hist);
    if (h == null) {
      return noData(title, caption, "no latency histogram in the report");
    }
    Scale x = Scale.log(h.lower[0], h.upper[h.upper.length - 1], ML, W - MR);
    Scale y = Scale.linear(0, h.maxCount(), H - MB, MT);
    StringBuilder s = open(title);
    axes(s, x, y, "latency (ms)", "responses");
    for (int i = 0; i < h.counts.length; i++) {
      double x0 = x.px(h.lower[i]), x1 = x.px(h.upper[i]), top = y.px(h.counts[i]);
      s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" opacity=\"0.8\"/>",
          x0 + 0.5, top, Math.max(0.5, x1 - x0 - 1), H - MB - top, PALETTE[0]));
    }
    List<String[]> legend = new ArrayList<>(List.<String[]>of(new String[] {"responses", PALETTE[0], ""}));
    double[][] marks = {{0.50, finite(p50) ? p50 : h.quantile(0.50)}, {0.99, finite(p99) ? p99 : h.quantile(0.99)}};
    String[] colours = {"#2ca02c", "#d62728"};
    for (int i = 0; i < marks.length; i++) {
      String label = (i == 0 ? "p50 " : "p99 ") + fmt(marks[i][1], " ms");
      double px = x.px(marks[i][1]);
      s.append(line(px, MT, px, H - MB, "mark", colours[i], true)).append(text(px + 4, MT + 12 + 14 * i, "mark", "start", label));
      legend.add(new String[] {label, colours[i], "dash"});
    }
    legend(s, legend);
    return close(s, caption);
  }

  private static String freshnessChart(Map<String, Object> stages, Map<String, Object> summary) {
    String title = "Freshness: time from an interaction to its effect";
    String caption = "Empirical CDF of milliseconds from an interaction to the user state, the similar-user pool and the"
        + " worker's state reflecting it (log x-axis; dashed: the 99% level).";
    Map<String, Histogram> hs = new LinkedHashMap<>();
    stages.forEach((stage, v) -> {
      Histogram h = Histogram.of(map(v));
      if (h != null) {
        hs.put(stage, h);
      }
    });
    if (hs.isEmpty()) {
      return noData(title, caption, "no freshness histograms in the report");
    }
    double lo = hs.values().stream().mapToDouble(h -> h.lower[0]).min().orElse(1);
    double hi = hs.values().stream().mapToDouble(h -> h.upper[h.upper.length - 1]).max().orElse(10);
    Scale x = Scale.log(lo, hi, ML, W - MR);
    Scale y = Scale.linear(0, 1, H - MB, MT);
    StringBuilder s = open(title);
    axes(s, x, y, "milliseconds after the interaction", "fraction of records");
    s.append(line(ML, y.px(0.99), W - MR, y.px(0.99), "level", "#999", true));
    List<String[]> legend = new ArrayList<>();
    int i = 0;
    for (Map.Entry<String, Histogram> e : hs.entrySet()) {
      Histogram h = e.getValue();
      List<double[]> cdf = new ArrayList<>(List.of(new double[] {h.lower[0], 0}));
      double cum = 0;
      for (int b = 0; b < h.counts.length; b++) {
        cum += h.counts[b];
        cdf.add(new double[] {h.upper[b], cum / h.total()});
      }
      String colour = PALETTE[i++ % PALETTE.length];
      s.append(polyline(cdf, x, y, colour, false));
      Double p99 = num(map(summary.get(e.getKey())).get("p99_ms"));
      legend.add(new String[] {e.getKey() + (p99 == null ? "" : " (p99 " + fmt(p99, " ms") + ")"), colour, ""});
    }
    legend(s, legend);
    return close(s, caption);
  }

  private static void experimentCharts(StringBuilder out, List<Object> rows) {
    Map<String, List<Map<String, Object>>> byExperiment = new LinkedHashMap<>();
    rows.forEach(o -> byExperiment.computeIfAbsent(str(map(o).get("experiment")), k -> new ArrayList<>()).add(map(o)));
    if (byExperiment.isEmpty()) {
      out.append(noData("Experiment statistic Λ over time", experimentCaption(), "no experiment decisions in the report"));
    }
    byExperiment.forEach((name, points) -> out.append(experimentChart(name, points)));
  }

  private static String experimentCaption() {
    return "The mSPRT statistic Λ (mixture likelihood ratio, treatment vs control; log y-axis) at every logged decision;"
        + " the experiment decides once Λ crosses the dashed boundary. Labelled markers: decisions other than CONTINUE.";
  }

  private static String experimentChart(String name, List<Map<String, Object>> rows) {
    String title = "Experiment " + (name.isEmpty() ? "?" : name) + ": mSPRT statistic Λ over time";
    List<double[]> pts = new ArrayList<>();
    Double boundary = null;
    for (Map<String, Object> m : rows) {
      Double t = num(m.get("t_s")), stat = num(m.get("statistic")), b = num(m.get("boundary"));
      if (finite(t) && finite(stat) && stat > 0) {
        pts.add(new double[] {t, stat});
      }
      boundary = finite(b) && b > 0 ? b : boundary;
    }
    if (pts.isEmpty()) {
      // e.g. an adapter rejected before any traffic: its decisions say why, a chart would be empty
      String actions = rows.stream().map(m -> String.valueOf(m.get("action"))).distinct()
          .reduce((a, b) -> a + ", " + b).orElse("none");
      return "<p class=\"note\">" + esc("Experiment " + name + ": no traffic, so no statistic (decisions: " + actions
          + "; see the decisions table).") + "</p>\n";
    }
    pts.sort(Comparator.comparingDouble(p -> p[0]));
    double lo = pts.stream().mapToDouble(p -> p[1]).min().orElse(1), hi = pts.stream().mapToDouble(p -> p[1]).max().orElse(1);
    Scale x = Scale.linear(pts.get(0)[0], pts.get(pts.size() - 1)[0], ML, W - MR);
    Scale y = Scale.log(boundary == null ? lo : Math.min(lo, boundary), boundary == null ? hi : Math.max(hi, boundary), H - MB, MT);
    StringBuilder s = open(title);
    axes(s, x, y, "time since start (s)", "Λ (log scale)");
    s.append(polyline(pts, x, y, PALETTE[0], false));
    pts.forEach(p -> s.append(circle(x.px(p[0]), y.px(p[1]), 2, PALETTE[0])));
    List<String[]> legend = new ArrayList<>(List.<String[]>of(new String[] {"Λ", PALETTE[0], ""}));
    if (boundary != null) {
      s.append(line(ML, y.px(boundary), W - MR, y.px(boundary), "boundary", "#d62728", true))
          .append(text(W - MR - 4, y.px(boundary) - 4, "mark", "end", "boundary " + fmt(boundary, "")));
      legend.add(new String[] {"boundary", "#d62728", "dash"});
    }
    for (Map<String, Object> m : rows) {
      String action = str(m.get("action")).toUpperCase(Locale.ROOT);
      Double t = num(m.get("t_s")), stat = num(m.get("statistic"));
      if (action.isEmpty() || action.equals("CONTINUE") || !finite(t)) {
        continue;
      }
      double py = y.px(finite(stat) && stat > 0 ? stat : boundary != null ? boundary : lo);
      String colour = switch (action) {
        case "PROMOTE" -> "#2ca02c";
        case "ROLLBACK", "ABORT" -> "#d62728";
        case "PAUSE" -> "#ff7f0e";
        default -> "#333";
      };
      s.append(circle(x.px(t), py, 6, colour)).append(text(x.px(t), py - 10, "decision", "middle", action));
      if (legend.stream().noneMatch(l -> l[0].equals(action))) {
        legend.add(new String[] {action, colour, "dot"});
      }
    }
    legend(s, legend);
    return close(s, experimentCaption());
  }

  // ---- SVG pieces

  private static StringBuilder open(String title) {
    return new StringBuilder("<figure>\n<svg viewBox=\"0 0 " + W + " " + H + "\" width=\"" + W + "\" height=\"" + H
        + "\" role=\"img\" aria-label=\"" + esc(title) + "\"><title>" + esc(title) + "</title>")
        .append(text(W / 2.0, 20, "title", "middle", title));
  }

  private static String close(StringBuilder svg, String caption) {
    return svg.append("</svg>\n<figcaption>").append(esc(caption)).append("</figcaption>\n</figure>\n").toString();
  }

  private static String noData(String title, String caption, String why) {
    StringBuilder s = open(title).append(String.format(Locale.ROOT,
        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ddd\"/>", ML, MT, W - ML - MR, H - MT - MB));
    return close(s.append(text(W / 2.0, H / 2.0, "nodata", "middle", "no data: " + why)), caption);
  }

  /** Grid lines, tick marks with labels and axis titles for the plot area. */
  private static void axes(StringBuilder s, Scale x, Scale y, String xLabel, String yLabel) {
    for (double t : y.ticks()) {
      double py = y.px(t);
      s.append(line(ML, py, W - MR, py, "grid", null, false))
          .append(text(ML - 6, py + 4, "tick", "end", tick(t)));
    }
    for (double t : x.ticks()) {
      double px = x.px(t);
      s.append(line(px, H - MB, px, H - MB + 5, "axis", null, false))
          .append(text(px, H - MB + 17, "tick", "middle", tick(t)));
    }
    s.append(line(ML, H - MB, W - MR, H - MB, "axis", null, false))
        .append(line(ML, MT, ML, H - MB, "axis", null, false))
        .append(text((ML + W - MR) / 2.0, H - 8, "label", "middle", xLabel))
        .append(String.format(Locale.ROOT, "<text class=\"label\" text-anchor=\"middle\" transform=\"translate(16,%.1f) rotate(-90)\">%s</text>",
            (MT + H - MB) / 2.0, esc(yLabel)));
  }

  /** One row (wrapping) of {label, colour, style} entries under the title; style "dash", "dot" or "" (solid line). */
  private static void legend(StringBuilder s, List<String[]> entries) {
    double x = ML, y = 38;
    s.append("<g class=\"legend\">");
    for (String[] e : entries) {
      double width = 30 + 6.5 * e[0].length() + 16;
      if (x + width > W - MR && x > ML) {
        x = ML;
        y += 15;
      }
      s.append(e[2].equals("dot") ? circle(x + 11, y - 4, 5, e[1]) : line(x, y - 4, x + 22, y - 4, "key", e[1], e[2].equals("dash")))
          .append(text(x + 28, y, "legend", "start", e[0]));
      x += width;
    }
    s.append("</g>");
  }

  private static String line(double x1, double y1, double x2, double y2, String cls, String colour, boolean dashed) {
    return String.format(Locale.ROOT, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s%s/>", cls, x1, y1,
        x2, y2, colour == null ? "" : " stroke=\"" + colour + "\" stroke-width=\"2\"", dashed ? " stroke-dasharray=\"6 4\"" : "");
  }

  private static String polyline(List<double[]> pts, Scale x, Scale y, String colour, boolean dashed) {
    String points = pts.stream().map(p -> String.format(Locale.ROOT, "%.1f,%.1f", x.px(p[0]), y.px(p[1])))
        .collect(Collectors.joining(" "));
    return "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "")
        + " points=\"" + points + "\"/>";
  }

  private static String circle(double cx, double cy, double r, String colour) {
    return String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>", cx, cy, r, colour);
  }

  private static String text(double x, double y, String cls, String anchor, String body) {
    return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\" text-anchor=\"%s\">%s</text>", x, y, cls, anchor,
        esc(body));
  }

  /** Maps data to pixels, linearly or by log10, over a domain widened to round tick values. */
  record Scale(double lo, double hi, double from, double to, boolean log, double step) {
    static Scale linear(double lo, double hi, double from, double to) {
      double l = Math.min(lo, hi), h = Math.max(lo, hi);
      if (h - l < 1e-12) {
        l = l == 0 ? 0 : l - Math.abs(l) * 0.5;
        h = h == 0 ? 1 : h + Math.abs(h) * 0.5;
      }
      double raw = (h - l) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
      double step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
      return new Scale(Math.floor(l / step) * step, Math.ceil(h / step - 1e-9) * step, from, to, false, step);
    }

    /** Whole decades around {@code [lo, hi]}; both must be positive (smaller values are clamped to a tiny one). */
    static Scale log(double lo, double hi, double from, double to) {
      double l = Math.floor(Math.log10(Math.max(Math.min(lo, hi), 1e-12)));
      double h = Math.ceil(Math.log10(Math.max(Math.max(lo, hi), 1e-12)));
      return new Scale(Math.pow(10, l), Math.pow(10, h > l ? h : l + 1), from, to, true, 0);
    }

    double px(double v) {
      double f = log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
      return from + Math.max(0, Math.min(1, f)) * (to - from);
    }

    List<Double> ticks() {
      List<Double> ticks = new ArrayList<>();
      if (!log) {
        for (int i = 0; lo + i * step <= hi + step * 1e-6; i++) {
          ticks.add(new BigDecimal(lo + i * step).round(new MathContext(12)).doubleValue());
        }
        return ticks;
      }
      int decades = (int) Math.round(Math.log10(hi / lo));
      int every = Math.max(1, (int) Math.ceil(decades / 8.0));
      for (int d = 0; d <= decades; d += every) {
        double base = lo * Math.pow(10, d);
        ticks.add(base);
        if (decades <= 2 && d < decades) {
          ticks.add(base * 2);
          ticks.add(base * 5);
        }
      }
      return ticks;
    }
  }

  /** Buckets with upper bounds (as reported) and derived lower bounds, made positive and increasing for a log axis. */
  record Histogram(double[] lower, double[] upper, double[] counts) {
    static Histogram of(Map<String, Object> m) {
      List<Object> bounds = list(m.get("bounds_ms")), counts = list(m.get("counts"));
      int n = Math.min(counts.size(), bounds.size() + 1);  // one extra count is the overflow bucket
      double[] lower = new double[n], upper = new double[n], c = new double[n];
      for (int i = 0; i < n; i++) {
        Double b = i < bounds.size() ? num(bounds.get(i)) : null, k = num(counts.get(i));
        double prev = i == 0 ? 0 : upper[i - 1];
        upper[i] = finite(b) ? Math.max(b, Math.max(prev * 1.0001, 1e-3)) : Math.max(prev * 2, 1);
        lower[i] = i == 0 ? upper[0] / 2 : prev;
        c[i] = finite(k) ? Math.max(0, k) : 0;
      }
      Histogram h = new Histogram(lower, upper, c);
      return n == 0 || h.total() <= 0 ? null : h;
    }

    double total() {
      return Arrays.stream(counts).sum();
    }

    double maxCount() {
      return Arrays.stream(counts).max().orElse(0);
    }

    /** The upper bound of the bucket holding the {@code q}-quantile: the estimate when the report has no percentile. */
    double quantile(double q) {
      double cum = 0;
      for (int i = 0; i < counts.length; i++) {
        cum += counts[i];
        if (cum >= q * total()) {
          return upper[i];
        }
      }
      return upper[upper.length - 1];
    }
  }

  // ---- values and text

  private static Map<String, Object> map(Object o) {
    if (!(o instanceof Map<?, ?> m)) {
      return Map.of();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(String.valueOf(k), v));
    return out;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return o instanceof List<?> l ? (List<Object>) l : List.of();
  }

  private static Double num(Object o) {
    if (o instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return o instanceof String s ? Double.valueOf(s.trim()) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static String str(Object o) {
    return o == null ? "" : String.valueOf(o);
  }

  private static boolean finite(Double v) {
    return v != null && Double.isFinite(v);
  }

  /** A readable number: grouped integers, four significant digits otherwise, "–" when missing. */
  static String fmt(Double v, String unit) {
    if (v == null) {
      return "–";
    }
    if (!Double.isFinite(v)) {
      return v + unit;
    }
    double a = Math.abs(v);
    String s = v == Math.rint(v) && a < 1e15 ? String.format(Locale.ROOT, "%,d", (long) (double) v)
        : a >= 1000 ? String.format(Locale.ROOT, "%,.1f", v)
        : a < 1e-4 ? String.format(Locale.ROOT, "%.3e", v)
        : BigDecimal.valueOf(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    return s + unit;
  }

  /** An axis label: 250, 1.5k, 2e-4. */
  static String tick(double v) {
    double a = Math.abs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-3)) {
      int e = (int) Math.floor(Math.log10(a) + 1e-9);
      return round3(v / Math.pow(10, e)) + "e" + e;
    }
    return a >= 1000 ? round3(v / 1000) + "k" : round3(v);
  }

  private static String round3(double v) {
    return BigDecimal.valueOf(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
  }

  /** Text safe inside HTML elements and attribute values. */
  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;").replace("'", "&#39;");
  }
}
