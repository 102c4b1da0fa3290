package io.adaptrec.infra;

import io.adaptrec.worker.cli.DatasetOptions;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.LoadResult;
import io.adaptrec.worker.eval.JsonReport;
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

/**
 * {@code adaptrec demo}: the README's first command. Every role on the embedded stack, a base model
 * trained on the first part of the timeline (cached), the rest replayed live with recommendation
 * requests before the users' real next interactions, a LoRA refresh trained from the stream, an
 * experiment, a fault drill, and a summary, a JSON report and a self-contained HTML report.
 * Exit code 0 only when every request was answered and every stage produced something.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {
        "The live end-to-end demo on the embedded stack (the quick start's main job).",
        "Trains (or reuses from the cache) a base model on the earliest part of the timeline, starts every role "
            + "(streams, pools, worker, gateway, rollout controller, dashboard; the trainer once the bootstrap is in), "
            + "replays that part, then the rest in event-time order at an accelerated rate, sending a recommendation "
            + "request before a sample of the users' real next interactions and holding each back until its response "
            + "arrived. Meanwhile the trainer fine-tunes a LoRA adapter on the stream and publishes it, the controller "
            + "runs its experiment, and a fault drill publishes a damaged adapter that must be rejected. Prints progress, "
            + "then a summary; writes an HTML report (and JSON with --report-json). Exits non-zero if a request went "
            + "unanswered or a stage produced nothing."},
    footer = {"", "Examples:",
        "  adaptrec demo",
        "  adaptrec demo --duration 480 --request-rate 30 --report-json reports/demo.json",
        "  adaptrec demo --dataset synthetic --users 300 --seed 7",
        "  adaptrec demo --model /tmp/reclm-ml100k --stay      # keep the stack and dashboard up afterwards"})
public final class DemoCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--dataset", paramLabel = "KIND", converter = Endpoints.DatasetKindConverter.class,
      description = "movielens, generic or synthetic (default: movielens if its directory exists, else synthetic).")
  DatasetKind dataset;

  @Mixin
  DatasetOptions data;

  @Mixin
  StackOptions stack;

  @Option(names = "--past-fraction", paramLabel = "F", defaultValue = "0.7",
      description = "Earliest share of the timeline (by event time) the base model is trained on and the bootstrap "
          + "replays; the rest is live (default: ${DEFAULT-VALUE}).")
  double pastFraction;

  @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "240",
      description = "Wall-clock length of the live replay; event time is accelerated to fit (default: ${DEFAULT-VALUE}).")
  long durationSeconds;

  @Option(names = "--request-rate", paramLabel = "PER_S", defaultValue = "20",
      description = "Recommendation requests per second to aim for; sets the share of live interactions preceded by "
          + "a request (default: ${DEFAULT-VALUE}).")
  double requestRate;

  @Option(names = "--k", paramLabel = "K", defaultValue = "10",
      description = "Items per recommendation; online NDCG@K (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--canary", paramLabel = "PERCENT", defaultValue = "50",
      description = "rollout.canary.percent: the share a new adapter's experiment gets (default: ${DEFAULT-VALUE}, "
          + "to fill both arms within the run).")
  int canary;

  @Option(names = "--refresh-every", paramLabel = "N", defaultValue = "0",
      description = "refresh.min-new: live interactions per trainer round (default: 0 = a tenth of the live part).")
  int refreshEvery;

  @Option(names = "--no-drill", negatable = false, description = "Skip the fault drill (the damaged adapter).")
  boolean noDrill;

  @Option(names = "--model-cache", paramLabel = "DIR",
      description = "Where trained base models are cached (default: $ADAPTREC_CACHE/models or ~/.cache/adaptrec/models).")
  Path modelCache;

  @Option(names = "--report-html", paramLabel = "FILE", defaultValue = "reports/demo-report.html",
      description = "Self-contained HTML report with plots (default: ${DEFAULT-VALUE}).")
  Path reportHtml;

  @Option(names = "--report-json", paramLabel = "FILE", description = "Also write the report as JSON here.")
  Path reportJson;

  @Option(names = "--bootstrap-timeout", paramLabel = "SECONDS", defaultValue = "600",
      description = "Give up (exit 1) if the bootstrap has not been digested after this long (default: ${DEFAULT-VALUE}).")
  long bootstrapTimeoutSeconds;

  @Option(names = "--request-seed", paramLabel = "SEED", defaultValue = "42",
      description = "Seed of which live interactions get a request (default: ${DEFAULT-VALUE}).")
  long requestSeed;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "A role setting, repeatable: refresh.*, rollout.*, serving.*, adapters.* go to the worker, trainer and "
          + "controller (one config file), outcome.* and history.* to the streams role, e.g. --set refresh.epochs=2.")
  Map<String, String> overrides = new java.util.LinkedHashMap<>();

  @Option(names = "--stay", negatable = false,
      description = "After the summary, keep the stack (and the dashboard) running until Ctrl-C.")
  boolean stay;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    LiveDemo.Config demo = new LiveDemo.Config(pastFraction, Duration.ofSeconds(durationSeconds), requestRate, k,
        requestSeed, !noDrill, 64, Duration.ofSeconds(bootstrapTimeoutSeconds), Duration.ofSeconds(60));
    if (canary < 1 || canary > 99) {
      throw new IllegalArgumentException("--canary must be 1-99, got " + canary);
    }
    DatasetKind kind = dataset != null ? dataset
        : Files.isDirectory(data.directory(DatasetKind.MOVIELENS)) ? DatasetKind.MOVIELENS : DatasetKind.SYNTHETIC;
    data.validate(kind);
    LoadResult loaded = data.load(kind);
    Dataset d = loaded.dataset();
    err.println(loaded.report().summary());
    int live = d.interactions().size() - d.timeCut(pastFraction);
    // free ports unless asked otherwise: a demo must not collide with a running 'adaptrec up';
    // the whole configuration is checked before a model is trained for it
    StackConfig config = settings(stack.toConfig(StackConfig.defaults().withFreePorts()),
        refreshEvery > 0 ? refreshEvery : Math.max(50, live / 10), canary, overrides);
    if (spec.commandLine().getParseResult().hasMatchedOption("--roles")) {
      throw new IllegalArgumentException("the demo runs every role (the trainer once its bootstrap is in); drop --roles,"
          + " or use 'adaptrec up --roles ...'");
    }
    Path model = stack.model != null ? stack.model
        : DemoModel.ensure(d, pastFraction, modelCache != null ? modelCache : DemoModel.defaultCache(), out);
    config = config.withModel(model);

    out.println("Starting the local stack (every role) ...");
    out.flush();
    Map<String, Object> report;
    try (LocalStack running = LocalStack.start(config)) {
      out.printf("Local stack up in %.1f s%n", running.startMillis() / 1000.0);
      out.print(running.describe());
      out.flush();
      report = new LiveDemo(running, d, demo, out).run();
      report.put("model", model.toString());
      report.put("canary_percent", canary);
      String dashboard = running.dashboardUrl().orElse(null);
      DemoReport.print(out, report, dashboard);
      DemoHtmlReport.write(reportHtml, report);
      out.println("HTML report  " + reportHtml.toAbsolutePath());
      if (reportJson != null) {
        JsonReport.write(reportJson, report);
        out.println("JSON report  " + reportJson.toAbsolutePath());
      }
      out.flush();
      if (stay) {
        out.println("The stack keeps running (--stay); Ctrl-C stops it.");
        out.flush();
        Thread.currentThread().join();
      }
      out.println("Stopping the local stack ...");
      out.flush();
    }
    List<String> problems = DemoReport.problems(report);
    if (!problems.isEmpty()) {
      out.println("Demo FAILED: " + String.join("; ", problems) + ".");
      out.flush();
      return 1;
    }
    out.println("Demo OK: every request answered, an adapter published by the trainer, "
        + ((List<?>) report.get("rollout_decisions")).size() + " rollout decision(s) recorded.");
    out.flush();
    return 0;
  }

  /**
   * The demo's stack: every role (the trainer is started by the demo after its bootstrap), a trainer
   * round every {@code refreshEvery} live interactions on a window of that many, one epoch (it shares
   * two cores with everything else), the experiment at {@code canary} percent, the controller looking
   * every second and logging its statistic every 5 s, outcomes emitted every second.
   */
  static StackConfig settings(StackConfig base, int refreshEvery, int canary, Map<String, String> overrides) {
    EnumSet<Role> roles = EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER, Role.GATEWAY, Role.CONTROL, Role.DASHBOARD);
    Map<String, String> model = new java.util.LinkedHashMap<>();
    Map<String, String> streams = new java.util.LinkedHashMap<>();
    overrides.forEach((key, value) -> {
      if (key.startsWith("outcome.") || key.startsWith("history.")) {
        streams.put(key, value);
      } else if (key.startsWith("refresh.") || key.startsWith("rollout.") || key.startsWith("serving.")
          || key.startsWith("adapters.")) {
        model.put(key, value);
      } else {
        throw new IllegalArgumentException("--set " + key + ": the demo passes refresh.*, rollout.*, serving.*, adapters.*, "
            + "outcome.* and history.* settings; use 'adaptrec up' and the role config files for others");
      }
    });
    return base.withRoles(roles)
        .withRoleSettings(Role.REFRESH, Map.of("refresh.min-new", Integer.toString(refreshEvery),
            "refresh.window", Integer.toString(Math.max(refreshEvery, 100)),
            "refresh.min-examples", Integer.toString(Math.max(20, refreshEvery / 5)), "refresh.epochs", "1"))
        .withRoleSettings(Role.CONTROL, Map.of("rollout.canary.percent", Integer.toString(canary),
            "rollout.decide.interval.ms", "1000", "rollout.report.interval.ms", "5000"))
        .withRoleSettings(Role.STREAMS, Map.of("outcome.emit.interval.ms", "1000"))
        .withRoleSettings(Role.WORKER, model).withRoleSettings(Role.REFRESH, model).withRoleSettings(Role.CONTROL, model)
        .withRoleSettings(Role.STREAMS, streams);
  }
}
