package io.adaptrec.infra;

import io.adaptrec.worker.data.LoadResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code adaptrec bench serving}: end-to-end and model-only serving latency on the embedded stack. */
@Command(name = "serving", mixinStandardHelpOptions = true,
    description = {"Benchmark serving: request produced -> response consumed through Kafka on the embedded stack, at",
        "each offered rate, and the model alone in-process, on the same activity-weighted user mix."},
    footer = {"", "Example:", "  adaptrec bench serving --model /tmp/reclm-ml100k --requests 2000 --rates 50,100,200 "
        + "--report-json reports/serving.json"})
public final class ServingBenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  BenchDataset input;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory to serve (./adaptrec train --out DIR).")
  Path model;

  @Option(names = "--requests", defaultValue = "2000", description = "Measured requests per rate (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--rates", split = ",", defaultValue = "50,100,200", description = "Offered request rates per second (default: ${DEFAULT-VALUE}).")
  List<Integer> rates;

  @Option(names = "--warmup", defaultValue = "0.1", description = "Share of extra, uncounted requests sent first at each rate (default: ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--model-requests", defaultValue = "500", description = "Requests of the in-process model-alone run (default: ${DEFAULT-VALUE}).")
  int modelRequests;

  @Option(names = "--djl-threads", defaultValue = "1", description = "Worker intra-op threads (default: ${DEFAULT-VALUE}).")
  int djlThreads;

  @Option(names = {"--engine", "--engines"}, split = ",", defaultValue = "onnxruntime", paramLabel = "ENGINE",
      description = "serving.engine of the worker: pytorch | onnxruntime; several (pytorch,onnxruntime) run one after "
          + "the other in this run, each on a restarted worker, with the same requests and thread budget (default: ${DEFAULT-VALUE}).")
  List<String> engines;

  @Option(names = "--delivery", defaultValue = "exactly-once", description = "serving.delivery of the worker: exactly-once | at-least-once (default: ${DEFAULT-VALUE}).")
  String delivery;

  @Option(names = "--loops", defaultValue = "1", description = "serving.loops of the worker (default: ${DEFAULT-VALUE}).")
  int loops;

  @Option(names = "--prewarm-users", defaultValue = "10000", description = "serving.prewarm.users of the worker; 0 measures a cold start (default: ${DEFAULT-VALUE}).")
  int prewarmUsers;

  @Option(names = "--known-items", defaultValue = "3", description = "serving.selection.known-items of the worker (default: ${DEFAULT-VALUE}).")
  int knownItems;

  @Option(names = "--request-seed", defaultValue = "42", description = "Seed of the user and candidate draws (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--report-json", paramLabel = "FILE", description = "Write the JSON report here.")
  Path reportJson;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    for (String e : engines) {
      if (!e.matches("pytorch|onnxruntime")) {
        throw new IllegalArgumentException("--engine: pytorch | onnxruntime (tensorrt needs a GPU), got '" + e + "'");
      }
    }
    if (requests < 10 || rates.isEmpty() || rates.stream().anyMatch(r -> r < 1 || r > 100_000) || warmup < 0 || warmup > 1) {
      throw new IllegalArgumentException("--requests >= 10, --rates in 1-100000, --warmup in [0, 1]");
    }
    LoadResult loaded = input.load();
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(djlThreads));
    StackConfig config = StackConfig.defaults().withFreePorts()
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER)).withModel(model)
        .withRoleSettings(Role.WORKER, Map.of("serving.djl.threads", Integer.toString(djlThreads),
            "serving.selection.known-items", Integer.toString(knownItems), "serving.delivery", delivery, "serving.loops", Integer.toString(loops),
            "serving.prewarm.users", Integer.toString(prewarmUsers)));
    out.println("Starting the local stack with a worker serving " + model + " ...");
    out.flush();
    try (LocalStack stack = LocalStack.start(config)) {
      new Replayer(stack.topics(), stack.bootstrapServers(), stack.clientSettings(), Replayer.Options.fastest(), System.err)
          .replay(loaded.dataset(), loaded.report().skippedLines());
      ServingBenchmark bench = new ServingBenchmark(stack, loaded.dataset(),
          new ServingBenchmark.Config(requests, rates, warmup, seed, modelRequests, knownItems), out);
      String pooled = ServingBenchmark.awaitModelSpacePools(stack.worker().orElseThrow(), bench.allUsers(), Duration.ofSeconds(5), Duration.ofMinutes(5));
      out.println("pipeline caught up: " + pooled);
      out.flush();
      Map<String, Object> report = null;
      List<Map<String, Object>> perEngine = new java.util.ArrayList<>();
      List<float[]> firstScores = null;
      for (String engine : engines) {
        long restartMs = bench.restartWorker(Map.of("serving.engine", engine));
        out.println("engine " + engine + ": worker serving on " + stack.worker().orElseThrow().model().engineInUse());
        out.flush();
        Map<String, Object> r = bench.run();
        r.put("worker_restart_ready_ms", restartMs);
        r.put("pooled", pooled);
        r.put("djl_threads", djlThreads);
        r.put("known_items", knownItems);
        r.put("delivery", delivery);
        r.put("loops", loops);
        r.put("prewarm_users", prewarmUsers);
        r.put("cold_means", "a user's first request in this run" + (prewarmUsers > 0
            ? "; the worker warmed its selection cache at restart, so these may already hit it" : "; never cached"));
        if (firstScores == null) {
          firstScores = bench.modelScores();
        } else {
          r.put("scores_vs_" + engines.get(0), ServingBenchmark.compare(firstScores, bench.modelScores()));
          out.println("scores vs " + engines.get(0) + " on the same " + ServingBenchmark.COMPARED_REQUESTS
              + " model-alone requests: " + r.get("scores_vs_" + engines.get(0)));
        }
        perEngine.add(r);
        report = report == null ? r : report;
      }
      if (perEngine.size() > 1) {
        report = new java.util.LinkedHashMap<>(perEngine.get(0));
        report.put("engines", perEngine);
        out.println("engines side by side (model alone p50 / p99, end-to-end p99 at the highest rate):");
        for (Map<String, Object> r : perEngine) {
          out.printf("  %-34s model %s / %s ms, end-to-end p99 %s ms, highest rate with p99 <= 50 ms: %s%n",
              r.get("engine") + " (" + r.get("engine_in_use") + ")", r.get("model_p50_ms"), r.get("model_p99_ms"),
              r.get("p99_ms"), r.get("max_rate_p99_le_50ms"));
        }
      }
      if (reportJson != null) {
        io.adaptrec.worker.eval.JsonReport.write(reportJson, report);
        out.println("report: " + reportJson);
      }
      out.printf("serving bench (%s): model p50 %s ms / p99 %s ms; highest offered rate with p99 <= 50 ms: %s%n",
          report.get("engine"), report.get("model_p50_ms"), report.get("model_p99_ms"), report.get("max_rate_p99_le_50ms"));
      out.flush();
      return perEngine.stream().allMatch(r -> (long) r.get("errors") == 0) ? 0 : 1;
    }
  }
}
