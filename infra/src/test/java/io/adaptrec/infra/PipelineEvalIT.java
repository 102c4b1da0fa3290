package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online equals offline: {@code adaptrec eval --through-pipeline} on a small synthetic dataset
 * replays it through Streams, the Flink pools job and the worker on the embedded stack, and every
 * query's ranking through Kafka equals the offline ranking of the same model (same stage-1
 * definition, same core), so the two variants' metrics are equal too.
 */
class PipelineEvalIT {
  @TempDir
  Path tmp;

  @Test
  void everyRankingThroughThePipelineEqualsTheOfflineOne() throws Exception {
    Path report = tmp.resolve("pipeline.json");
    StringWriter out = new StringWriter();
    int code = AdaptrecCli.build().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute(
        "eval", "--dataset", "synthetic", "--users", "120", "--items", "80", "--min-events", "8", "--max-events", "24",
        "--protocol", "loo", "--seeds", "2", "--variants", "adaptrec", "--through-pipeline",
        "--epochs", "2,1,1,0", "--d-model", "32", "--no-progress", "--report-json", report.toString());
    assertThat(code).as(out.toString()).isZero();
    JsonNode json = new ObjectMapper().readTree(report.toFile());
    JsonNode pipeline = json.get("pipeline");
    assertThat(pipeline.get("queries").asInt()).isEqualTo(2 * 120);
    assertThat(pipeline.get("responses").asInt()).isEqualTo(2 * 120);
    assertThat(pipeline.get("errors").asInt()).isZero();
    assertThat(pipeline.get("identical_rankings").asDouble()).isGreaterThanOrEqualTo(0.99 * 240);
    JsonNode variants = json.get("variants");
    for (String metric : new String[] {"hr@1", "ndcg@5", "ndcg@20"}) {
      assertThat(variants.get("adaptrec-pipeline").get(metric).asDouble())
          .as(metric).isCloseTo(variants.get("adaptrec-offline").get(metric).asDouble(), org.assertj.core.data.Offset.offset(0.01));
    }
    assertThat(variants.get("adaptrec-pipeline").get("valid_ratio").asDouble()).isEqualTo(1.0);
  }
}
