package io.adaptrec.infra;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SelectedDemonstration;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code adaptrec recommend}: one live recommendation from a running stack, with its explanation. */
@Command(name = "recommend", mixinStandardHelpOptions = true,
    description = {"Ask the running workers for a recommendation and explain it: the path taken, the adapter, ",
        "the demonstration users the model selected (what each watched and chose) and the ranked items."},
    footer = {"", "Examples:", "  adaptrec recommend --user 42", "  adaptrec recommend --user 42 --k 5 --json"})
public final class RecommendCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--user", required = true, description = "The user to recommend for.")
  long user;

  @Option(names = "--k", defaultValue = "10", description = "Items to return (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--candidates", split = ",", description = "Items to rank (default: the worker generates candidates).")
  List<Long> candidates;

  @Option(names = "--bootstrap", defaultValue = Endpoints.DEFAULT_BOOTSTRAP, description = "Kafka (default: ${DEFAULT-VALUE}).")
  String bootstrap;

  @Option(names = "--registry", defaultValue = Endpoints.DEFAULT_REGISTRY, description = "Schema registry (default: ${DEFAULT-VALUE}).")
  String registry;

  @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Topic prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Option(names = "--timeout-ms", defaultValue = "10000", description = "How long to wait for the response (default: ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Mixin
  ClientConfigOption clientConfig = new ClientConfigOption();

  @Option(names = "--json", description = "Print the response as JSON (the gateway's format) instead of the explanation.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (!Endpoints.kafkaAnswers(clientConfig.client(bootstrap), Endpoints.ANSWER_TIMEOUT)) {
      spec.commandLine().getErr().println("No Kafka broker answers at " + bootstrap + "; start one with ./adaptrec up --model DIR"
          + " (a secured one also needs its client settings: --client-config FILE)");
      return 2;
    }
    Topics topics = new Topics(topicPrefix, clientConfig.serde(registry));
    Properties p = clientConfig.client(bootstrap);
    RecommendationResponse r;
    try (RecClient client = new RecClient(topics, p)) {
      r = client.recommend(user, k, candidates, Duration.ofMillis(timeoutMs));
    } catch (TimeoutException e) {
      spec.commandLine().getErr().println(e.getMessage() + ": is a worker running (./adaptrec up --model DIR)?");
      return 3;
    }
    if (json) {
      out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(Gateway.json(r)));
      out.flush();
      return 0;
    }
    explain(out, r, titles(topics, p));
    out.flush();
    return r.getError() == null ? 0 : 1;
  }

  static void explain(PrintWriter out, RecommendationResponse r, Map<Long, String> titles) {
    out.printf("User %d: %s via %s, adapter %s, arm %s, %.1f ms in the worker%n", r.getUserId(), r.getStatus(),
        r.getPath(), r.getAdapterVersion(), r.getArm(), r.getLatencyMicros() / 1000.0);
    if (r.getError() != null) {
      out.println("  error: " + r.getError());
    }
    if (!r.getSelected().isEmpty()) {
      out.printf("  demonstrations (stage 2, chosen by the model from the user's pool, %s space, pool version %d):%n",
          r.getPoolEmbeddingVersion(), r.getPoolVersion());
      int n = 1;
      for (SelectedDemonstration d : r.getSelected()) {
        String watched = d.getWatched().stream().skip(Math.max(0, d.getWatched().size() - 3))
            .map(i -> title(titles, i)).collect(Collectors.joining("; "));
        out.printf("   %d. user %d (selection score %+.3f, similarity %.3f) watched ... %s%n      then chose %s%n",
            n++, d.getUserId(), d.getSelectionScore(), d.getSimilarity(), watched, title(titles, d.getChoice()));
      }
    }
    out.printf("  recommended (%s candidates):%n", r.getCandidatesGenerated() ? "worker-generated" : "given");
    int n = 1;
    for (ScoredItem s : r.getItems()) {
      out.printf("   %2d. %-56s score %.3f%n", n++, title(titles, s.getItemId()), s.getScore());
    }
  }

  private static String title(Map<Long, String> titles, long item) {
    String t = titles.get(item);
    return t == null ? "item " + item : t + " (" + item + ")";
  }

  /** Titles from the items topic (read to its end once). */
  static Map<Long, String> titles(Topics topics, Properties c) {
    Map<Long, String> out = new HashMap<>();
    String t = topics.items().name();
    TopicScan.toEnd(c, t, Duration.ofSeconds(20), r -> {
      if (r.value() != null) {
        try {
          Item it = topics.items().valueSerde().deserializer().deserialize(t, r.value());
          out.put(it.getItemId(), it.getTitle());
        } catch (RuntimeException e) {
          // a bad catalogue record only costs its title here
        }
      }
    });
    return out;
  }
}
