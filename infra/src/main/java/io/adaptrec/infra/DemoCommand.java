package io.adaptrec.infra;

import io.adaptrec.worker.cli.DatasetOptions;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.LoadResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec demo}: the end-to-end run of the README quick start. Starts the local stack,
 * replays a dataset, waits until the roles have turned it into user-state and similar-user pools,
 * prints what came out, and stops. Exit code 0 only when the pipeline really produced output.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {
        "End-to-end demo of the pipeline on the embedded stack (the quick start's main job).",
        "Starts the stack, replays a dataset (MovieLens-100K when ../shared/datasets/ml-100k exists, else a synthetic one), "
            + "waits until user-state and similar-user pools have been computed for it, prints counts, latencies and one "
            + "user's history and pool, then stops. Exits 0 only if the pipeline produced output."},
    footer = {"", "Examples:",
        "  adaptrec demo",
        "  adaptrec demo --no-model          # pipeline only",
        "  adaptrec demo --dataset synthetic --users 300 --seed 7",
        "  adaptrec demo --dataset movielens --data-dir /data/ml-1m --timeout 900"})
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

  @Option(names = "--speedup", paramLabel = "X", defaultValue = "0",
      description = "Replay pacing: event-time gaps divided by X; 0 = as fast as possible (default).")
  double speedup;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600",
      description = "Give up (exit 1) if the pipeline has not caught up after this long (default: ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  @Option(names = "--no-progress", negatable = false, description = "Do not draw progress bars.")
  boolean noProgress;

  @Option(names = "--no-model", negatable = false, description = "Skip training RecLM and the sample recommendation.")
  boolean noModel;

  // demo-sized on purpose: on two busy cores MovieLens-100K (943 users) trains in ~4 minutes with
  // these (stage A ~100 s, B ~0.05 s and C ~0.1 s per prompt); 'adaptrec train' runs the full schedule
  @Option(names = "--model-epochs", paramLabel = "A,B,C", split = ",", defaultValue = "1,1,1",
      description = "RecLM epochs of stage A (sequences), B (prompts), C (LoRA) for the demo's quick training "
          + "(default: ${DEFAULT-VALUE}).")
  java.util.List<Integer> modelEpochs;

  @Option(names = "--model-prompts-per-user", paramLabel = "N", defaultValue = "1",
      description = "Training prompts per user and epoch in stages B and C (default: ${DEFAULT-VALUE}).")
  int promptsPerUser;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (timeoutSeconds < 10) {
      throw new IllegalArgumentException("--timeout must be at least 10 seconds, got " + timeoutSeconds);
    }
    if (promptsPerUser < 1 || promptsPerUser > 1000) {
      throw new IllegalArgumentException("--model-prompts-per-user must be 1-1000, got " + promptsPerUser);
    }
    if (modelEpochs.size() != 3 || modelEpochs.stream().anyMatch(e -> e < 0 || e > 1000)) {
      throw new IllegalArgumentException("--model-epochs needs three epoch counts A,B,C in 0-1000, got " + modelEpochs);
    }
    Replayer.Options replayOptions = new Replayer.Options(speedup, Replayer.RecordTime.NOW, !noProgress);
    DatasetKind kind = dataset != null ? dataset
        : Files.isDirectory(data.directory(DatasetKind.MOVIELENS)) ? DatasetKind.MOVIELENS : DatasetKind.SYNTHETIC;
    data.validate(kind);
    // free ports unless asked otherwise: a demo must not collide with a running 'adaptrec up'
    StackConfig config = stack.toConfig(StackConfig.defaults().withFreePorts());
    if (!config.roles().contains(Role.STREAMS) || !config.roles().contains(Role.POOLS)) {
      throw new IllegalArgumentException("the demo needs both roles (streams, pools); drop --roles");
    }
    LoadResult loaded = data.load(kind);
    Dataset d = loaded.dataset();
    long users = d.interactions().stream().mapToLong(Dataset.Event::userId).distinct().count();
    err.println(loaded.report().summary());

    out.println("Starting the local stack ...");
    out.flush();
    Outcome outcome;
    try (LocalStack running = LocalStack.start(config);
         PipelineWatcher watcher = new PipelineWatcher(running.bootstrapServers(), running.topics())) {
      out.printf("Local stack up in %.1f s%n", running.startMillis() / 1000.0);
      out.print(running.describe());
      out.flush();
      Replayer.Summary replay = new Replayer(running.topics(), running.bootstrapServers(), Map.of(), replayOptions, System.err)
          .replay(d, loaded.report().skippedLines());
      out.println(replay.describe());
      out.flush();
      long replayEnd = System.nanoTime();

      long quietNanos = Duration.ofMillis(Math.max(3000, 3 * config.flinkCheckpointMs())).toNanos();
      PipelineWatcher.Snapshot seen = awaitCaughtUp(running, watcher, replay, users, quietNanos, err);
      Map<String, Long> counters = running.streams().orElseThrow().counters().snapshot();
      // the last pool update marks when the pipeline had digested the whole replay
      double caughtUpSeconds = Math.max(0, (System.nanoTime() - seen.nanosSinceLastPool() - replayEnd) / 1e9);
      DemoReport.print(out, d, users, replay, counters, seen, config.flinkCheckpointMs(), caughtUpSeconds);
      outcome = new Outcome(seen, seen.stateRecords() > 0 && !seen.pools().isEmpty(),
          seen.states().size() == users && counters.get("interactions") >= replay.interactions());
      out.println("Stopping the local stack ...");
      out.flush();
    }

    if (!outcome.produced() || !outcome.complete()) {
      out.println("Demo FAILED: " + (outcome.produced() ? "" : "no user-state or no user-pools output; ")
          + (outcome.complete() ? "" : "user-state for " + outcome.seen().states().size() + " of " + users
          + " users after " + timeoutSeconds + " s; ") + "see the log above.");
      return 1;
    }
    if (!noModel) {
      // after the stack stopped: training wants both cores
      long user = DemoReport.sampleUser(outcome.seen()).orElseThrow();
      out.printf("%nTraining RecLM on %s (demo schedule: epochs %s, %d prompt(s) per user; 'adaptrec train' runs the full one) ...%n",
          d.name(), String.join(",", modelEpochs.stream().map(String::valueOf).toList()), promptsPerUser);
      out.flush();
      DemoModel.Recommendation rec = DemoModel.trainAndRecommend(d, outcome.seen().states().get(user),
          modelEpochs.stream().mapToInt(Integer::intValue).toArray(), promptsPerUser, 42, err);
      DemoModel.print(out, rec, d.items().stream().collect(java.util.stream.Collectors.toMap(
          Dataset.Item::itemId, java.util.function.Function.identity(), (a, b) -> a)));
    }
    out.println();
    out.println("Demo OK: every user has a state, " + outcome.seen().pools().size() + " users have a similar-user pool"
        + (noModel ? "." : ", and RecLM ranked candidates for user " + DemoReport.sampleUser(outcome.seen()).orElseThrow() + "."));
    out.flush();
    return 0;
  }

  /** What the pipeline produced, judged while the stack was up. */
  private record Outcome(PipelineWatcher.Snapshot seen, boolean produced, boolean complete) {}

  /**
   * Waits until the streams role has consumed every replayed interaction, each user has a state,
   * and both outputs have been quiet for a while (pools trail by up to a checkpoint interval), or
   * until the timeout. Reports progress every 10 s.
   */
  private PipelineWatcher.Snapshot awaitCaughtUp(LocalStack running, PipelineWatcher watcher, Replayer.Summary replay,
      long users, long quietNanos, PrintWriter err) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    long nextReport = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      PipelineWatcher.Snapshot s = watcher.snapshot();
      long processed = running.streams().orElseThrow().counters().interactions.get();
      boolean done = processed >= replay.interactions() && s.states().size() >= users && !s.pools().isEmpty()
          && s.nanosSinceLastState() > quietNanos && s.nanosSinceLastPool() > quietNanos;
      if (done || System.nanoTime() > deadline) {
        return s;
      }
      if (!running.problems().isEmpty()) {
        err.println("demo: the stack reports a problem: " + running.problems());
        return s;
      }
      if (System.nanoTime() > nextReport) {
        err.printf("waiting for the pipeline: %,d/%,d interactions processed, user-state for %,d/%,d users, pools for %,d users%n",
            processed, replay.interactions(), s.states().size(), users, s.pools().size());
        err.flush();
        nextReport = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      }
      Thread.sleep(500);
    }
  }
}
