package io.adaptrec.infra.chaos;

import io.adaptrec.infra.VersionInfo;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.eval.JsonReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec chaos}: fault injection against the running compose cluster
 * (infra/deploy/docker-compose.yml), with the invariants checked against brute force at the end of
 * every scenario. See {@link ChaosRun} for the traffic and the faults, {@link ChaosOracle} for the
 * checks.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"Inject faults into the running compose cluster under steady traffic and check that nothing is lost:",
        "every request answered exactly once, every user's state and pool equal to brute force, every bad record dead-lettered.",
        "Scenarios: worker-kill, streams-kill, taskmanager-kill, broker-restart, registry-outage, registry-outage-restarts, trainer-kill, bad-input, bad-adapters, combined; 'all' runs each in turn."},
    footer = {"", "Example (the compose cluster up, see infra/README.md):",
        "  adaptrec chaos --scenario all --report-json reports/chaos.json"})
public final class ChaosCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--scenario", paramLabel = "NAME", defaultValue = "all", split = ",",
      description = "all, or a comma-separated list of scenarios (default: ${DEFAULT-VALUE}).")
  List<String> scenarios;

  @Option(names = "--bootstrap", defaultValue = "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096",
      description = "Kafka bootstrap servers (default: the compose cluster's three brokers).")
  String bootstrap;

  @Option(names = "--registry", defaultValue = "http://127.0.0.1:8081", description = "Schema registry URL (default: ${DEFAULT-VALUE}).")
  String registry;

  @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Topic prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Option(names = "--project", defaultValue = "adaptrec", description = "The compose project whose containers get the faults (default: ${DEFAULT-VALUE}).")
  String project;

  @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "60", description = "Traffic per scenario (default: ${DEFAULT-VALUE}).")
  int durationSeconds;

  @Option(names = "--rate", paramLabel = "EVENTS/S", defaultValue = "100", description = "Interactions per second (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--request-rate", paramLabel = "REQ/S", defaultValue = "5", description = "Recommendation requests per second (default: ${DEFAULT-VALUE}).")
  double requestRate;

  @Option(names = "--fault-at", defaultValue = "0.3", description = "When the (first) fault hits, as a fraction of the traffic (default: ${DEFAULT-VALUE}).")
  double faultAt;

  @Option(names = "--down", paramLabel = "SECONDS", defaultValue = "10", description = "How long a killed or stopped service stays down (default: ${DEFAULT-VALUE}).")
  int downSeconds;

  @Option(names = "--bad-rate", defaultValue = "0.01", description = "Share of bad records in the bad-input scenarios (default: ${DEFAULT-VALUE}).")
  double badRate;

  @Option(names = "--users", defaultValue = "300", description = "Synthetic users per scenario (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(names = "--items", defaultValue = "200", description = "Catalogue size: the cluster's model must know these items (default: ${DEFAULT-VALUE}).")
  int items;

  @Option(names = "--world-seed", defaultValue = "42", description = "Seed of the synthetic catalogue (default: ${DEFAULT-VALUE}, as compose-test.sh).")
  long worldSeed;

  @Option(names = "--seed", defaultValue = "7", description = "Seed of the scenarios' users, events and bad input (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--settle", paramLabel = "SECONDS", defaultValue = "180",
      description = "Longest wait after the traffic for responses, states, pools and dead letters (default: ${DEFAULT-VALUE}).")
  int settleSeconds;

  @Option(names = "--history-length", defaultValue = "20", description = "The streams role's history.length (default: ${DEFAULT-VALUE}).")
  int windowLength;

  @Option(names = "--grace-ms", defaultValue = "86400000", description = "The streams role's history.grace.ms (default: ${DEFAULT-VALUE}).")
  long graceMs;

  @Option(names = "--pool-size", defaultValue = "10", description = "The pools job's pool.size (default: ${DEFAULT-VALUE}).")
  int poolSize;

  @Option(names = "--min-history", defaultValue = "3", description = "The pools job's pool.min-history (default: ${DEFAULT-VALUE}).")
  int minHistory;

  @Option(names = "--report-json", paramLabel = "FILE", description = "Write the report as JSON.")
  Path reportJson;

  @picocli.CommandLine.Mixin
  io.adaptrec.infra.ClientConfigOption clientConfig = new io.adaptrec.infra.ClientConfigOption();

  @Override
  public Integer call() throws Exception {
    List<ChaosRun.Scenario> chosen = new ArrayList<>();
    for (String s : scenarios) {
      if (s.equals("all")) {
        chosen.addAll(List.of(ChaosRun.Scenario.values()));
      } else {
        chosen.add(ChaosRun.Scenario.parse(s));
      }
    }
    if (durationSeconds < 5 || rate < 1 || requestRate < 0 || faultAt <= 0 || faultAt >= 0.8 || downSeconds < 0
        || badRate < 0 || badRate > 0.5 || settleSeconds < 1) {
      throw new IllegalArgumentException("--duration >= 5, --rate >= 1, --request-rate >= 0, 0 < --fault-at < 0.8, "
          + "--down >= 0, 0 <= --bad-rate <= 0.5, --settle >= 1");
    }
    PrintWriter out = spec.commandLine().getOut();
    Topics topics = new Topics(topicPrefix, clientConfig.serde(registry));
    Properties client = clientConfig.client(bootstrap);
    DockerFaults docker = new DockerFaults(project);
    for (ChaosRun.Scenario s : chosen) {
      for (ChaosRun.Fault f : s.faults) {
        docker.container(f.service());   // fails now, naming the service, rather than mid-run
      }
    }
    // users of this run never collide with earlier runs' (or the replayed world's) users
    long userBase = 1_000_000_000L + (System.currentTimeMillis() / 1000 % 100_000) * 1_000_000L;
    ChaosRun run = new ChaosRun(topics, client, docker, new ChaosRun.Options(rate, requestRate, durationSeconds, faultAt,
        downSeconds, badRate, users, items, worldSeed, seed, windowLength, graceMs, poolSize, minHistory,
        Duration.ofSeconds(settleSeconds), userBase), out);
    run.publishCatalogue();
    List<Map<String, Object>> results = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < chosen.size(); i++) {
      Map<String, Object> r = run.run(chosen.get(i), i);
      results.add(r);
      out.printf("chaos [%s]: %s: %s answered %s/%s (lost %s, doubled %s); interactions lost %s, doubled %s; pools = brute force: %s;"
              + " dead letters %s/%s (unexpected %s); recovery %s ms; unhealthy at the end: %s%n", r.get("name"),
          (Boolean) r.get("ok") ? "OK" : "FAILED",
          "requests", r.get("requests_answered"), r.get("requests_sent"), r.get("requests_lost"), r.get("requests_doubled"),
          r.get("interactions_lost"), r.get("interactions_doubled"), r.get("pools_equal_bruteforce"), r.get("dead_lettered"),
          r.get("dead_letter_expected"), r.get("dead_letter_unexpected"), r.get("recovery_ms"), r.get("services_unhealthy_at_end"));
      @SuppressWarnings("unchecked")
      List<String> problems = (List<String>) r.get("problems");
      problems.forEach(p -> out.println("    " + p));
      out.flush();
    }
    boolean ok = results.stream().allMatch(r -> (Boolean) r.get("ok"));
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("ok", ok);
    report.put("bootstrap", bootstrap);
    report.put("duration_s", Math.round((System.nanoTime() - t0) / 1e9));
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("rate", rate);
    settings.put("request_rate", requestRate);
    settings.put("duration_s", durationSeconds);
    settings.put("down_s", downSeconds);
    settings.put("bad_rate", badRate);
    settings.put("users_per_scenario", users);
    settings.put("seed", seed);
    report.put("settings", settings);
    report.put("scenarios", results);
    out.printf("chaos: %s (%d scenario(s) in %d s)%n", ok ? "OK" : "FAILED", results.size(), (Long) report.get("duration_s"));
    if (reportJson != null) {
      JsonReport.write(reportJson, report);
      out.println("chaos: report " + reportJson);
    }
    out.flush();
    return ok ? 0 : 1;
  }
}
