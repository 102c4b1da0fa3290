package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's HTML report: charts, tables, escaping, no external assets, and graceful gaps. */
class DemoHtmlReportTest {

  @Test
  void aRealisticReportRendersEveryChartAndTable() {
    String html = DemoHtmlReport.render(report());

    assertThat(html).startsWith("<!DOCTYPE html>").endsWith("</html>\n").contains("<style>");
    assertThat(count(html, "<svg")).isGreaterThanOrEqualTo(4);
    assertThat(count(html, "<svg")).isEqualTo(count(html, "</svg>"));
    assertThat(html).contains("Online HR@1 per arm over time", "Response latency histogram", "Freshness: time from",
        "Experiment treatment-v2: mSPRT statistic Λ over time");
    assertThat(count(html, "<figcaption>")).isEqualTo(count(html, "<svg"));
    // arms and stages in the legends, the baseline dashed
    assertThat(html).contains(">control</text>", ">treatment</text>", ">popular</text>")
        .contains("interaction → user-state (p99 850 ms)", "interaction → pool", "interaction → worker");
    // the decision boundary, the decisions marked and labelled, the latency percentiles marked
    assertThat(html).contains("class=\"boundary\"", ">boundary 20</text>", ">PROMOTE</text>", ">PAUSE</text>")
        .contains(">p50 12 ms</text>", ">p99 87 ms</text>");
    // tables: summary figures, decisions, adapters
    assertThat(html).contains("<h1>AdaptRec demo on ml-100k</h1>", "12,345", "treatment 0.0612", "popular 0.021")
        .contains("<h2>Rollout decisions</h2>", "Λ crossed the boundary", "<h2>Adapters</h2>", "v3", "non-finite loss");
    assertThat(html).doesNotContain("no data");
  }

  @Test
  void textIsEscapedAndNothingIsLoadedFromOutside() {
    Map<String, Object> report = report();
    report.put("adapters_rejected", List.of(Map.of("version", "v9", "reason", "<script>alert('x')</script> & more")));
    report.put("dataset", "a\"b<i>");
    String html = DemoHtmlReport.render(report);

    assertThat(html).doesNotContain("<script", "<i>")
        .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more", "a&quot;b&lt;i&gt;");
    assertThat(html).doesNotContain("http://", "https://", "<link", "<img", "<iframe");
    Matcher refs = Pattern.compile("(?:src|href)\\s*=", Pattern.CASE_INSENSITIVE).matcher(html);
    assertThat(refs.find()).as("no src= or href= at all").isFalse();
  }

  @Test
  void anEmptyReportRendersWithNoDataNotes() {
    String html = DemoHtmlReport.render(Map.of());

    assertThat(count(html, "<svg")).isEqualTo(4);
    assertThat(count(html, "no data:")).isGreaterThanOrEqualTo(6);  // four charts, decisions, adapters
    assertThat(html).contains("Online HR@1 per arm over time", "<h2>Summary</h2>").doesNotContain("NaN", "Infinity");
  }

  @Test
  void oddValuesDoNotBreakTheCharts() {
    Map<String, Object> report = new HashMap<>();
    Map<String, Object> series = new HashMap<>();
    series.put("hr_by_arm", List.of(Map.of("t_s", 5, "arm", "control", "hr1", 0.1), Map.of("arm", "x"), "junk"));
    series.put("latency_ms", Map.of("bounds_ms", List.of(0, 1, "Infinity"), "counts", List.of(0, 3, 4, 9)));
    series.put("freshness_ms", Map.of("interaction → pool", Map.of("bounds_ms", List.of(10), "counts", List.of(0))));
    series.put("experiment", List.of(Map.of("t_s", 1, "experiment", "e", "statistic", 0.0, "boundary", 20),
        Map.of("t_s", 2, "experiment", "e", "statistic", 1e-9, "action", "ABORT")));
    report.put("series", series);
    report.put("p50_ms", "not a number");
    String html = DemoHtmlReport.render(report);

    assertThat(count(html, "<svg")).isEqualTo(4);
    assertThat(html).contains(">control</text>", ">ABORT</text>", "no freshness histograms").doesNotContain("NaN");
  }

  @Test
  void scalesMapDomainsToPixelsOnRoundTicks() {
    DemoHtmlReport.Scale lin = DemoHtmlReport.Scale.linear(0, 0.87, 100, 0);
    assertThat(lin.ticks()).containsExactly(0.0, 0.2, 0.4, 0.6, 0.8, 1.0);
    assertThat(lin.px(0)).isEqualTo(100);
    assertThat(lin.px(1)).isEqualTo(0);
    DemoHtmlReport.Scale log = DemoHtmlReport.Scale.log(3, 4000, 0, 400);
    assertThat(log.lo()).isEqualTo(1);
    assertThat(log.hi()).isEqualTo(10_000);
    assertThat(log.px(100)).isEqualTo(200);
    assertThat(log.px(0)).isEqualTo(0);  // clamped, not -Infinity
    assertThat(log.ticks()).containsExactly(1.0, 10.0, 100.0, 1000.0, 10_000.0);
    assertThat(DemoHtmlReport.tick(1500)).isEqualTo("1.5k");
    assertThat(DemoHtmlReport.tick(1e-4)).isEqualTo("1e-4");
    assertThat(DemoHtmlReport.fmt(12345.0, " ms")).isEqualTo("12,345 ms");
    assertThat(DemoHtmlReport.fmt(null, "")).isEqualTo("–");
  }

  @Test
  void writeCreatesTheDirectory(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("out/demo.html");
    DemoHtmlReport.write(file, report());
    assertThat(Files.readString(file)).contains("<svg");
  }

  private static int count(String s, String part) {
    int n = 0;
    for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  private static Map<String, Object> report() {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("dataset", "ml-100k");
    r.put("duration_s", 120.5);
    r.put("interactions_replayed", 12_345);
    r.put("requests", 3000);
    r.put("responses", 2990);
    r.put("errors", 4);
    r.put("unanswered", 6);
    r.put("dead_letters", Map.of("malformed", 2));
    r.put("adapters_published", 3);
    r.put("adapters_rejected", List.of(Map.of("version", "v4", "reason", "non-finite loss")));
    r.put("adapters", List.of(Map.of("version", "v1", "state", "ACTIVE", "reason", "bootstrap"),
        Map.of("version", "v3", "state", "PROMOTED", "reason", "Λ crossed the boundary")));
    r.put("online_hr@1", Map.of("control", 0.0531, "treatment", 0.0612));
    r.put("online_ndcg@10", Map.of("control", 0.12, "treatment", 0.14));
    r.put("responses_by_arm", Map.of("control", 1500, "treatment", 1490));
    r.put("online_hr@1_popular", 0.021);
    r.put("online_ndcg@10_popular", 0.05);
    r.put("p50_ms", 12);
    r.put("p99_ms", 87);
    r.put("freshness_p99_ms", 2400);
    Map<String, Object> freshness = new LinkedHashMap<>();
    freshness.put("interaction → user-state", Map.of("p50_ms", 40, "p99_ms", 850, "n", 12_000));
    freshness.put("interaction → pool", Map.of("p50_ms", 900, "p99_ms", 2400, "n", 11_000));
    freshness.put("interaction → worker", Map.of("p50_ms", 60, "p99_ms", 900, "n", 2990));
    r.put("freshness", freshness);
    r.put("rollout_decisions", List.of(
        decision("PAUSE", "operator", "paused for inspection", 3.0, 40),
        decision("PROMOTE", "experiment", "Λ crossed the boundary", 25.0, 90)));

    List<Object> hr = new ArrayList<>();
    List<Object> experiment = new ArrayList<>();
    for (int t = 5; t <= 120; t += 5) {
      hr.add(Map.of("t_s", t, "arm", "control", "hr1", 0.05 + 0.001 * (t % 7), "n", t * 12));
      hr.add(Map.of("t_s", t, "arm", "treatment", "hr1", 0.055 + 0.0006 * t / 10, "n", t * 12));
      hr.add(Map.of("t_s", t, "arm", "popular", "hr1", 0.02, "n", t * 25));
      String action = t == 40 ? "PAUSE" : t == 90 ? "PROMOTE" : "CONTINUE";
      experiment.add(Map.of("t_s", t, "experiment", "treatment-v2", "statistic", Math.exp(t / 28.0) * 0.2, "boundary", 20,
          "action", action));
    }
    Map<String, Object> stages = new LinkedHashMap<>();
    stages.put("interaction → user-state", hist(List.of(5, 3, 200, 400, 300, 80, 12)));
    stages.put("interaction → pool", hist(List.of(0, 0, 5, 40, 500, 900, 60)));
    stages.put("interaction → worker", hist(List.of(1, 10, 300, 500, 100, 20, 2)));
    r.put("series", Map.of("hr_by_arm", hr, "experiment", experiment, "freshness_ms", stages,
        "latency_ms", Map.of("bounds_ms", List.of(1, 2, 5, 10, 20, 50, 100, 200), "counts", List.of(3, 80, 900, 1200, 500, 250, 50, 7))));
    return r;
  }

  private static Map<String, Object> hist(List<Integer> counts) {
    return Map.of("bounds_ms", List.of(1, 10, 100, 1000, 10_000, 100_000, 1_000_000), "counts", counts);
  }

  private static Map<String, Object> decision(String action, String actor, String reason, double statistic, int t) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("experiment", "treatment-v2");
    d.put("action", action);
    d.put("actor", actor);
    d.put("reason", reason);
    d.put("statistic", statistic);
    d.put("boundary", 20);
    d.put("p_value", 0.031);
    d.put("effect", 0.008);
    d.put("low", 0.001);
    d.put("high", 0.015);
    d.put("samples_control", 1400);
    d.put("samples_treatment", 1390);
    d.put("t_s", t);
    return d;
  }
}
