package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.client.RecClient;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live dashboard in a real headless browser: the local stack with a small model and the
 * dashboard role, a replayed synthetic dataset and a few live recommendations; the overview API
 * shows them, then Chromium loads the page with {@code ?user=U}, runs its JavaScript (polling and
 * the lookup) and its DOM carries the live numbers; a screenshot is kept as
 * {@code infra/target/dashboard.png}.
 */
class DashboardIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  @Test
  void thePageShowsTheRunningSystemInAHeadlessBrowser() throws Exception {
    String chromium = chromium();
    Dataset data = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(5).withSize(60, 50, 8, 20)).dataset();
    Path model = TinyModel.train(data, tmp.resolve("model"));
    StackConfig config = StackConfig.defaults().withFreePorts().withModel(model)
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER, Role.CONTROL, Role.DASHBOARD))
        .withRoleSettings(Role.WORKER, Map.of("serving.prewarm.users", "0"));
    try (LocalStack stack = LocalStack.start(config)) {
      String url = stack.dashboardUrl().orElseThrow();
      assertThat(stack.describe()).contains("dashboard " + url);
      HttpClient http = HttpClient.newHttpClient();
      assertThat(get(http, url + "/health").body()).contains("\"up\"");
      HttpResponse<String> unknown = get(http, url + "/api/users/987654321");
      assertThat(unknown.statusCode()).isEqualTo(404);
      assertThat(JSON.readTree(unknown.body()).get("error").asText()).contains("987654321");
      assertThat(get(http, url + "/api/users/abc").statusCode()).isEqualTo(400);

      new Replayer(stack.topics(), stack.bootstrapServers(), Map.of(), Replayer.Options.fastest(), System.err)
          .replay(data, 0);
      long[] users = data.interactions().stream().mapToLong(Dataset.Event::userId).distinct().toArray();
      ServingBenchmark.awaitModelSpacePools(stack.worker().orElseThrow(), users, Duration.ofSeconds(2),
          Duration.ofMinutes(3));

      Properties client = new Properties();
      client.setProperty("bootstrap.servers", stack.bootstrapServers());
      List<RecommendationResponse> answers = new ArrayList<>();
      try (RecClient rec = new RecClient(stack.topics(), client)) {
        for (int i = 0; i < 5; i++) {
          answers.add(rec.recommend(users[i], 5, null, Duration.ofSeconds(60)));
        }
      }
      RecommendationResponse last = answers.get(answers.size() - 1);
      assertThat(last.getSelected()).as("the response names its demonstrations").isNotEmpty();
      long user = last.getUserId();

      // the overview API sees every response, the interactions and the worker
      JsonNode overview = null;
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < until) {
        overview = JSON.readTree(get(http, url + "/api/overview").body());
        if (overview.at("/throughput/responses/total").asLong() >= answers.size()
            && overview.at("/throughput/interactions/total").asLong() == data.interactions().size()
            && overview.at("/feed/caughtUp").asBoolean()) {
          break;
        }
        Thread.sleep(500);
      }
      assertThat(overview.at("/throughput/responses/total").asLong()).as(overview.toString()).isGreaterThanOrEqualTo(5);
      assertThat(overview.at("/throughput/requests/total").asLong()).isGreaterThanOrEqualTo(5);
      assertThat(overview.at("/throughput/interactions/total").asLong()).isEqualTo(data.interactions().size());
      assertThat(overview.at("/latency/all/count").asLong()).isGreaterThanOrEqualTo(5);
      assertThat(overview.at("/latency/all/p50Ms").asDouble()).isPositive();
      assertThat(overview.at("/adapters/worker/loaded").toString()).contains("v1");
      assertThat(overview.at("/adapters/production").asText()).isEqualTo("v1");
      assertThat(overview.at("/lag/groups").toString()).as(overview.at("/lag").toString()).contains("streams: user state").contains("worker: rec-requests")
          .contains("pools: Flink job");
      JsonNode lookup = JSON.readTree(get(http, url + "/api/users/" + user).body());
      assertThat(lookup.at("/state/history").size()).isPositive();
      assertThat(lookup.at("/lastResponse/demonstrations").size()).isPositive();

      // the page, rendered by a real browser
      Path profile = Files.createDirectories(tmp.resolve("chromium-profile"));
      String dom = run(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--user-data-dir=" + profile, "--virtual-time-budget=8000", "--dump-dom", url + "/?user=" + user));
      assertThat(number(dom, "responses-total")).as(dom).isGreaterThanOrEqualTo(5);
      assertThat(number(dom, "interactions-total")).isEqualTo(data.interactions().size());
      assertThat(number(dom, "requests-total")).isGreaterThanOrEqualTo(5);
      assertThat(dom).contains("data-arm=\"control\"");
      assertThat(dom).containsPattern("id=\"latency-p50\">[0-9]+\\.[0-9]<");
      assertThat(dom).contains("streams: user state");
      assertThat(dom).containsPattern("<ol id=\"user-history\"><li>");
      assertThat(dom).contains("class=\"demo demonstration\" data-user=\"" + last.getSelected().get(0).getUserId() + "\"");
      assertThat(dom).contains("then chose");
      assertThat(dom).contains("id=\"user-status\">user " + user + "</span>");
      assertThat(dom).as("the page polled the API").containsPattern("<span id=\"status\"[^>]*>updated [0-9:]+<");

      Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
      Files.deleteIfExists(shot);
      run(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
          "--user-data-dir=" + profile, "--virtual-time-budget=8000", "--window-size=1400,1800",
          "--screenshot=" + shot, url + "/?user=" + user));
      assertThat(shot).exists();
      assertThat(Files.size(shot)).isPositive();
    }
  }

  /** Chromium on this machine; fails (never skips) naming how to install it. */
  private static String chromium() {
    List<String> candidates = new ArrayList<>(List.of("/usr/bin/chromium", "/usr/bin/chromium-browser"));
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      candidates.add(dir + "/chromium");
      candidates.add(dir + "/chromium-browser");
    }
    for (String c : candidates) {
      if (Files.isExecutable(Path.of(c))) {
        return c;
      }
    }
    return fail("DashboardIT needs a headless Chromium (tried /usr/bin/chromium and chromium on PATH); "
        + "`bash .ci/run` installs it (Debian package chromium)");
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Runs a browser command, returns its stdout; fails with its output when it fails or hangs. */
  private static String run(List<String> command) throws Exception {
    Path out = Files.createTempFile("chromium-", ".out");
    Path err = Files.createTempFile("chromium-", ".err");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("chromium did not finish within 90 s: " + command + "\n" + Files.readString(err));
    }
    String stdout = Files.readString(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      fail("chromium exited " + p.exitValue() + ": " + command + "\n" + Files.readString(err));
    }
    return stdout;
  }

  /** The number in the element with id {@code id} (thousands separators allowed). */
  private static long number(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\">([0-9,]+)<").matcher(dom);
    if (!m.find()) {
      return fail("no number in #" + id + " of the rendered page");
    }
    return Long.parseLong(m.group(1).replace(",", ""));
  }
}
