package io.adaptrec.infra;

import io.adaptrec.worker.cli.DatasetOptions;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.LoadResult;
import java.io.PrintWriter;
import java.nio.file.Files;
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

  @Option(names = "--dataset", paramLabel = "KIND", converter = Endpoints.DatasetKindConverter.class,
      description = "movielens | generic | synthetic (default: movielens when ../shared/datasets/ml-100k exists).")
  DatasetKind dataset;

  @Mixin
  DatasetOptions data;

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
    if (requests < 10 || rates.isEmpty() || rates.stream().anyMatch(r -> r < 1 || r > 100_000) || warmup < 0 || warmup > 1) {
      throw new IllegalArgumentException("--requests >= 10, --rates in 1-100000, --warmup in [0, 1]");
    }
    DatasetKind kind = dataset != null ? dataset
        : Files.isDirectory(data.directory(DatasetKind.MOVIELENS)) ? DatasetKind.MOVIELENS : DatasetKind.SYNTHETIC;
    data.validate(kind);
    LoadResult loaded = data.load(kind);
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
      long restartMs = bench.restartWorker();
      Map<String, Object> report = bench.run();
      report.put("worker_restart_ready_ms", restartMs);
      report.put("pooled", pooled);
      report.put("djl_threads", djlThreads);
      report.put("known_items", knownItems);
      report.put("delivery", delivery);
      report.put("loops", loops);
      report.put("prewarm_users", prewarmUsers);
      report.put("cold_means", "a user's first request in this run" + (prewarmUsers > 0
          ? "; the worker warmed its selection cache at restart, so these may already hit it" : "; never cached"));
      if (reportJson != null) {
        io.adaptrec.worker.eval.JsonReport.write(reportJson, report);
        out.println("report: " + reportJson);
      }
      out.printf("serving bench: model p50 %s ms / p99 %s ms; highest offered rate with p99 <= 50 ms: %s%n",
          report.get("model_p50_ms"), report.get("model_p99_ms"), report.get("max_rate_p99_le_50ms"));
      out.flush();
      return (long) report.get("errors") == 0 ? 0 : 1;
    }
  }
}
