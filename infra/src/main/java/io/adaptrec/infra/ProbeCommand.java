package io.adaptrec.infra;

import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.eval.JsonReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec probe}: is this cluster serving? Waits until {@code user-pools} holds pools for
 * at least {@code --min-pools} users, sends {@code --requests} recommendation requests (users with a
 * pool, seeded, without candidates) and checks that every request got exactly one response
 * ({@code read_committed}; a second response to an answered id counts as doubled). Works against any
 * cluster (compose, Kubernetes, the local stack); the compose test tier runs it. Exit 0 only when
 * pools exist, nothing was lost or doubled and no response has status ERROR.
 */
@Command(name = "probe", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"Check that a running cluster serves: pools exist, and every recommendation request gets exactly one response.",
        "Exit 0 only when nothing is lost or doubled and no response is an ERROR."},
    footer = {"", "Example:", "  adaptrec probe --bootstrap 127.0.0.1:9092,127.0.0.1:9094 --registry http://127.0.0.1:8081 --requests 100"})
public final class ProbeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", defaultValue = Endpoints.DEFAULT_BOOTSTRAP,
      description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
  String bootstrap;

  @Option(names = "--registry", paramLabel = "URL", defaultValue = Endpoints.DEFAULT_REGISTRY,
      description = "Schema registry URL (default: ${DEFAULT-VALUE}).")
  String registry;

  @Option(names = "--topic-prefix", paramLabel = "P", defaultValue = Topics.DEFAULT_PREFIX,
      description = "Topic name prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Option(names = "--requests", paramLabel = "N", defaultValue = "50", description = "Requests to send (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--k", paramLabel = "K", defaultValue = "10", description = "Items per response (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--min-pools", paramLabel = "N", defaultValue = "1",
      description = "Users that must have a non-empty pool before requests are sent (default: ${DEFAULT-VALUE}).")
  int minPools;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "180",
      description = "Longest wait for the pools, and then for the responses (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--linger", paramLabel = "SECONDS", defaultValue = "5",
      description = "How long to keep reading responses after the last answer, to see doubles (default: ${DEFAULT-VALUE}).")
  int lingerSeconds;

  @Option(names = "--seed", defaultValue = "7", description = "Seed of the user choice (default: ${DEFAULT-VALUE}).")
  long seed;

  @Mixin
  ClientConfigOption clientConfig = new ClientConfigOption();

  @Option(names = "--report-json", paramLabel = "FILE", description = "Also write the result as JSON.")
  Path reportJson;

  @Override
  public Integer call() throws Exception {
    if (requests < 1 || k < 1 || minPools < 0 || timeoutSeconds < 1 || lingerSeconds < 0) {
      throw new IllegalArgumentException("--requests and --k must be >= 1, --min-pools and --linger >= 0, --timeout >= 1");
    }
    PrintWriter out = spec.commandLine().getOut();
    Properties client = clientConfig.client(bootstrap);
    if (!Endpoints.kafkaAnswers(client, Endpoints.ANSWER_TIMEOUT)) {
      throw new IllegalStateException("no Kafka cluster answers at " + bootstrap);
    }
    Topics topics = new Topics(topicPrefix, clientConfig.serde(registry));

    long t0 = System.nanoTime();
    long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    List<Long> users = usersWithPools(topics, client);
    while (users.size() < Math.max(1, minPools) && System.nanoTime() < deadline) {
      out.printf("probe: %d user(s) with a pool on %s, waiting for %d...%n", users.size(), topics.userPools().name(), Math.max(1, minPools));
      out.flush();
      Thread.sleep(3000);
      users = usersWithPools(topics, client);
    }
    long poolsMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("bootstrap", bootstrap);
    report.put("users_with_pools", users.size());
    report.put("pools_wait_ms", poolsMs);
    if (users.isEmpty() || users.size() < minPools) {
      report.put("ok", false);
      report.put("error", "fewer than " + Math.max(1, minPools) + " users with a pool after " + timeoutSeconds + " s");
      return finish(out, report, 1);
    }
    out.printf("probe: %d users with a pool (after %d ms); sending %d requests...%n", users.size(), poolsMs, requests);
    out.flush();

    Random rnd = new Random(seed);
    Map<String, Integer> statuses = new TreeMap<>();
    List<Long> roundTripMs = new ArrayList<>();
    int answered = 0;
    int lost = 0;
    long doubled;
    TreeSet<String> adapters = new TreeSet<>();
    try (RecClient rec = new RecClient(topics, client)) {
      List<CompletableFuture<RecommendationResponse>> futures = new ArrayList<>();
      List<Long> sentAt = new ArrayList<>();
      long[] doneAt = new long[requests];
      for (int i = 0; i < requests; i++) {
        long user = users.get(rnd.nextInt(users.size()));
        RecommendationRequest req = RecClient.request(user, k, null);
        sentAt.add(System.nanoTime());
        int index = i;
        futures.add(rec.send(req).whenComplete((r, e) -> doneAt[index] = System.nanoTime()));
      }
      long answerDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
      for (int i = 0; i < futures.size(); i++) {
        try {
          long left = Math.max(1, answerDeadline - System.nanoTime());
          RecommendationResponse r = futures.get(i).get(left, TimeUnit.NANOSECONDS);
          answered++;
          statuses.merge(r.getStatus().name(), 1, Integer::sum);
          if (r.getAdapterVersion() != null) {
            adapters.add(r.getAdapterVersion());
          }
        } catch (TimeoutException e) {
          lost++;
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        if (futures.get(i).isDone()) {
          roundTripMs.add(TimeUnit.NANOSECONDS.toMillis(doneAt[i] - sentAt.get(i)));
        }
      }
      Thread.sleep(TimeUnit.SECONDS.toMillis(lingerSeconds));
      doubled = rec.duplicates();
    }
    Collections.sort(roundTripMs);
    report.put("requests_sent", requests);
    report.put("requests_answered", answered);
    report.put("requests_lost", lost);
    report.put("requests_doubled", doubled);
    report.put("statuses", statuses);
    report.put("adapters_serving", List.copyOf(adapters));
    report.put("round_trip_p50_ms", roundTripMs.isEmpty() ? null : roundTripMs.get(roundTripMs.size() / 2));
    report.put("round_trip_max_ms", roundTripMs.isEmpty() ? null : roundTripMs.get(roundTripMs.size() - 1));
    boolean ok = lost == 0 && doubled == 0 && answered == requests && !statuses.containsKey("ERROR");
    report.put("ok", ok);
    return finish(out, report, ok ? 0 : 1);
  }

  private int finish(PrintWriter out, Map<String, Object> report, int code) throws Exception {
    out.printf("probe: %s%n", code == 0 ? "OK" : "FAILED");
    report.forEach((key, v) -> out.printf("  %-24s %s%n", key, v));
    out.flush();
    if (reportJson != null) {
      JsonReport.write(reportJson, report);
      out.println("  report: " + reportJson);
    }
    return code;
  }

  /** Users whose latest pool on {@code user-pools} has at least one neighbour. */
  private static List<Long> usersWithPools(Topics topics, Properties client) {
    Map<Long, Boolean> latest = new HashMap<>();
    TopicScan.toEnd(client, topics.userPools().name(), Duration.ofSeconds(30), r -> {
      if (r.value() == null) {
        return;
      }
      try {
        SimilarUserPool p = topics.userPools().valueSerde().deserializer().deserialize(r.topic(), r.value());
        latest.put(p.getUserId(), !p.getNeighbours().isEmpty());
      } catch (RuntimeException e) {
        // not a pool this probe can judge; the pools job routes its own bad records
      }
    });
    List<Long> users = new ArrayList<>();
    latest.forEach((u, has) -> {
      if (has) {
        users.add(u);
      }
    });
    Collections.sort(users);
    return users;
  }
}
