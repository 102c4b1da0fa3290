package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Online equals offline, under both protocols: {@code adaptrec eval --through-pipeline} on a small
 * synthetic dataset replays it through Streams, the Flink pools job and the worker on the embedded
 * stack (llara: held-out users excluded from every live pool, as offline), and every
 * query's ranking through Kafka equals the offline ranking of the same model (same stage-1
 * definition, same core), so the two variants' metrics are equal too.
 */
class PipelineEvalIT {
  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"loo", "llara"})
  void everyRankingThroughThePipelineEqualsTheOfflineOne(String protocol) throws Exception {
    Path report = tmp.resolve("pipeline-" + protocol + ".json");
    StringWriter out = new StringWriter();
    int code = AdaptrecCli.build().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute(
        "eval", "--dataset", "synthetic", "--users", "120", "--items", "80", "--min-events", "8", "--max-events", "24",
        "--protocol", protocol, "--seeds", "2", "--variants", "adaptrec", "--through-pipeline",
        "--epochs", "2,1,1,0", "--d-model", "32", "--no-progress", "--report-json", report.toString());
    assertThat(code).as(out.toString()).isZero();
    JsonNode json = new ObjectMapper().readTree(report.toFile());
    JsonNode pipeline = json.get("pipeline");
    int queries = 2 * json.get("test_users").asInt();   // loo: every user; llara: the last 10 % by first interaction
    assertThat(queries).isGreaterThanOrEqualTo(protocol.equals("loo") ? 240 : 20);
    assertThat(pipeline.get("queries").asInt()).isEqualTo(queries);
    assertThat(pipeline.get("responses").asInt()).isEqualTo(queries);
    assertThat(pipeline.get("errors").asInt()).isZero();
    assertThat(pipeline.get("identical_rankings").asDouble()).isGreaterThanOrEqualTo(0.99 * queries);
    JsonNode variants = json.get("variants");
    for (String metric : new String[] {"hr@1", "ndcg@5", "ndcg@20"}) {
      assertThat(variants.get("adaptrec-pipeline").get(metric).asDouble())
          .as(metric).isCloseTo(variants.get("adaptrec-offline").get(metric).asDouble(), org.assertj.core.data.Offset.offset(0.01));
    }
    assertThat(variants.get("adaptrec-pipeline").get("valid_ratio").asDouble()).isEqualTo(1.0);
  }
}
