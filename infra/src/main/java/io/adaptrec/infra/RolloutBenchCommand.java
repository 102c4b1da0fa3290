package io.adaptrec.infra;

import io.adaptrec.worker.data.LoadResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code adaptrec bench rollout}: the refresh and A/B loop end to end on the embedded stack. */
@Command(name = "rollout", mixinStandardHelpOptions = true,
    description = {"Benchmark continuous refresh and rollout: replay the past (the trainer fine-tunes and publishes),",
        "then send the most recent interactions as live requests + outcomes until the controller decides."},
    footer = {"", "Example:", "  adaptrec bench rollout --model /tmp/reclm-ml100k --live-fraction 0.1 --report-json reports/rollout.json"})
public final class RolloutBenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  BenchDataset input;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (./adaptrec train --out DIR).")
  Path model;

  @Option(names = "--live-fraction", defaultValue = "0.1", description = "Most recent share of the interactions sent as live traffic (default: ${DEFAULT-VALUE}).")
  double liveFraction;

  @Option(names = "--max-live", defaultValue = "0", description = "Stop the live phase after this many events; 0 = all (default: ${DEFAULT-VALUE}).")
  int maxLive;

  @Option(names = "--refresh-every", defaultValue = "5000", description = "refresh.min-new: new interactions per trainer round (default: ${DEFAULT-VALUE}).")
  int refreshEvery;

  @Option(names = "--canary", defaultValue = "50", description = "rollout.canary.percent (default: ${DEFAULT-VALUE}).")
  int canary;

  @Option(names = "--min-samples", defaultValue = "200", description = "rollout.min-samples (default: ${DEFAULT-VALUE}).")
  long minSamples;

  @Option(names = "--max-samples", defaultValue = "20000", description = "rollout.max-samples (default: ${DEFAULT-VALUE}).")
  long maxSamples;

  @Option(names = "--publication-timeout-s", defaultValue = "1800", description = "Longest wait for the first routed experiment (default: ${DEFAULT-VALUE}).")
  long publicationTimeoutS;

  @Option(names = "--request-seed", defaultValue = "42", description = "Seed of the live candidates (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--report-json", paramLabel = "FILE", description = "Write the JSON report here.")
  Path reportJson;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LoadResult loaded = input.load();
    StackConfig config = settings(StackConfig.defaults().withFreePorts()
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER, Role.REFRESH, Role.CONTROL)).withModel(model),
        refreshEvery, canary, minSamples, maxSamples);
    out.println("Starting the local stack with worker, trainer and controller on " + model + " ...");
    out.flush();
    try (LocalStack stack = LocalStack.start(config)) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("model", model.toString());
      report.put("refresh_min_new", refreshEvery);
      report.put("canary_percent", canary);
      report.put("min_samples", minSamples);
      report.put("max_samples", maxSamples);
      report.putAll(new RolloutBenchmark(stack, loaded.dataset(), new RolloutBenchmark.Config(liveFraction, maxLive,
          Duration.ofSeconds(publicationTimeoutS), seed), out).run());
      if (reportJson != null) {
        io.adaptrec.worker.eval.JsonReport.write(reportJson, report);
        out.println("report: " + reportJson);
      }
      out.flush();
      return (int) report.get("live_errors") == 0 ? 0 : 1;
    }
  }

  /** The stack settings of a rollout run (also used by the end-to-end test). */
  static StackConfig settings(StackConfig base, int refreshEvery, int canary, long minSamples, long maxSamples) {
    return base
        .withRoleSettings(Role.REFRESH, Map.of("refresh.min-new", Integer.toString(refreshEvery),
            "refresh.min-examples", Integer.toString(Math.max(10, refreshEvery / 5))))
        .withRoleSettings(Role.CONTROL, Map.of("rollout.canary.percent", Integer.toString(canary),
            "rollout.min-samples", Long.toString(minSamples), "rollout.max-samples", Long.toString(maxSamples),
            "rollout.decide.interval.ms", "500", "rollout.report.interval.ms", "5000"))
        .withRoleSettings(Role.STREAMS, Map.of("outcome.emit.interval.ms", "500"));
  }
}
