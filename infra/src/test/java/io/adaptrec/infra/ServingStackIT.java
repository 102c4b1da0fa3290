package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serving roles in the local stack: {@code up --model} runs the worker and the gateway next to
 * Streams and Flink; after a replay, {@code POST /recommendations} and {@code adaptrec recommend}
 * answer live recommendations built on the pipeline's pools, and the worker's item embeddings moved
 * every pool into the model's space.
 */
class ServingStackIT {
  @TempDir
  Path tmp;

  @Test
  void theGatewayAndTheRecommendCommandServeLiveRecommendations() throws Exception {
    Dataset data = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(5).withSize(60, 50, 8, 20)).dataset();
    Path model = TinyModel.train(data, tmp.resolve("model"));
    try (LocalStack stack = LocalStack.start(StackConfig.defaults().withFreePorts().withModel(model)
        .withRoles(java.util.EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER, Role.GATEWAY)))) {
      assertThat(stack.worker()).isPresent();
      assertThat(stack.describe()).contains("worker   ").contains("gateway  POST");
      new Replayer(stack.topics(), stack.bootstrapServers(), Map.of(), Replayer.Options.fastest(), System.err)
          .replay(data, 0);
      long[] users = data.interactions().stream().mapToLong(Dataset.Event::userId).distinct().toArray();
      String pooled = ServingBenchmark.awaitModelSpacePools(stack.worker().orElseThrow(), users, Duration.ofSeconds(2),
          Duration.ofMinutes(3));
      assertThat(pooled).startsWith(users.length + "/" + users.length);

      HttpClient http = HttpClient.newHttpClient();
      String url = stack.gatewayUrl().orElseThrow() + "/recommendations";
      HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create(url))
          .POST(HttpRequest.BodyPublishers.ofString("{\"userId\": " + users[0] + ", \"k\": 4}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).isEqualTo(200);
      JsonNode body = new ObjectMapper().readTree(ok.body());
      assertThat(body.get("status").asText()).isEqualTo("OK");
      assertThat(body.get("path").asText()).isEqualTo("adaptrec");
      assertThat(body.get("items")).hasSize(4);
      assertThat(body.get("demonstrations").size()).isBetween(1, 5);
      assertThat(body.get("adapterVersion").asText()).isEqualTo("v1");
      assertThat(body.get("poolEmbeddingVersion").asText()).startsWith("reclm-");
      assertThat(body.get("candidatesGenerated").asBoolean()).isTrue();

      HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(url))
          .POST(HttpRequest.BodyPublishers.ofString("{\"k\": 4}")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("userId");

      StringWriter out = new StringWriter();
      int code = AdaptrecCli.build().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute("recommend",
          "--user", Long.toString(users[1]), "--k", "3", "--bootstrap", stack.bootstrapServers(),
          "--registry", stack.registryUrl());
      assertThat(code).as(out.toString()).isZero();
      assertThat(out.toString()).contains("via adaptrec, adapter v1").contains("demonstrations (stage 2")
          .contains("then chose").contains(" 3. ");
    }
  }
}
