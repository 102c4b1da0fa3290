package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code adaptrec demo} end to end through the CLI on a small synthetic world: the base model is
 * trained into a fresh cache, every role runs, live requests are answered, the trainer publishes, the
 * fault drill's adapter is rejected and recorded, and the reports are written.
 */
class DemoIT {
  @TempDir
  Path tmp;

  @Test
  void theDemoRecommendsLearnsAndRollsOutAndReportsIt() throws Exception {
    Path json = tmp.resolve("demo.json");
    Path html = tmp.resolve("demo.html");
    AdaptrecCliTest.Run r = AdaptrecCliTest.run("demo", "--dataset", "synthetic", "--users", "80", "--items", "60",
        "--min-events", "8", "--max-events", "16", "--duration", "45", "--request-rate", "8",
        "--model-cache", tmp.resolve("cache").toString(), "--report-json", json.toString(), "--report-html", html.toString(),
        // a tiny held-out set on synthetic data: publish whatever the round trains, so the experiment runs
        "--set", "refresh.max-regression=1");
    assertThat(r.exitCode()).as("exit code; stdout:%n%s%nstderr:%n%s", r.out(), r.err()).isZero();
    assertThat(r.out())
        .contains("Base model: training RecLM")
        .contains("[bootstrap")
        .contains("[live")
        .contains("fault drill: published damaged adapter")
        .contains("== AdaptRec demo on synthetic")
        .contains("most-popular baseline")
        .contains("Freshness")
        .contains("ABORT")
        .contains("Demo OK");
    JsonNode j = new ObjectMapper().readTree(json.toFile());
    for (String key : new String[] {"interactions_replayed", "requests", "responses", "errors", "adapters_published",
        "rollout_decisions", "online_hr@1", "online_hr@1_popular", "p50_ms", "p99_ms", "freshness_p99_ms"}) {
      assertThat(j.has(key)).as("report key %s in %s", key, j).isTrue();
    }
    assertThat(j.get("requests").asLong()).isPositive().isEqualTo(j.get("responses").asLong());
    assertThat(j.get("unanswered").asLong()).isZero();
    assertThat(j.get("errors").asLong()).isZero();
    assertThat(j.get("adapters_published").asLong()).isPositive();
    assertThat(j.get("interactions_replayed").asLong()).isEqualTo(j.get("past_interactions").asLong()
        + j.get("live_interactions").asLong());
    assertThat(j.get("adapters_rejected").toString()).contains(LiveDemo.DRILL_PREFIX).contains("NOT_FINITE");
    assertThat(j.get("freshness_p99_ms").asDouble()).isPositive();
    assertThat(Files.readString(html)).contains("<svg");

    // the model is cached (complete, under its key) for the next run
    assertThat(Files.list(tmp.resolve("cache")).filter(p -> !p.getFileName().toString().startsWith(".")))
        .singleElement().satisfies(p -> {
          assertThat(p.getFileName().toString()).contains("-past70-");
          assertThat(p.resolve("adapters").resolve("CURRENT")).isRegularFile();
        });
  }
}
