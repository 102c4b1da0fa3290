package io.adaptrec.infra;

import io.adaptrec.worker.data.LoadResult;
import io.adaptrec.worker.eval.JsonReport;
import io.adaptrec.worker.eval.Machine;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec bench pipeline}: freshness of the stream roles together, through Kafka. A dataset
 * is replayed at a constant interaction rate into the embedded stack (Streams user-state, Flink
 * pools, both exactly-once); every committed user-state and pool record is read back
 * ({@code read_committed}) and its latency taken from the interaction that caused it:
 * interaction sent -> user-state readable, and interaction sent -> a pool recomputed from it
 * readable. Figures cover the steady part after a warm-up the report states.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
    description = {"Benchmark pipeline freshness: interaction -> user-state -> pool update, read back through Kafka",
        "(read_committed) while the dataset is replayed at a constant rate into the embedded stack."},
    footer = {"", "Example:", "  adaptrec bench pipeline --rate 2000 --checkpoint-ms 500 --report-json reports/pipeline.json"})
public final class PipelineBenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  BenchDataset input;

  @Option(names = "--rate", defaultValue = "2000", description = "Interactions per second, constant (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--warmup", defaultValue = "0.2",
      description = "Share of the interactions sent first and left out of the figures (default: ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--checkpoint-ms", defaultValue = "500",
      description = "Checkpoint interval of the pools job: its exactly-once sink makes pools readable per checkpoint (default: ${DEFAULT-VALUE}).")
  long checkpointMs;

  @Option(names = "--commit-ms", defaultValue = "100",
      description = "commit.interval.ms of the streams role: under exactly-once, how soon user-state is readable (default: ${DEFAULT-VALUE}).")
  long commitMs;

  @Option(names = "--streams-setting", paramLabel = "KEY=VALUE",
      description = "A streams-role key for this run (repeatable), e.g. statestore.cache.max.bytes=10485760.")
  Map<String, String> streamsSettings = new LinkedHashMap<>();

  @Option(names = "--flink-parallelism", defaultValue = "2", description = "Parallelism of the pools job (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--report-json", paramLabel = "FILE", description = "Write the JSON report here.")
  Path reportJson;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (!(rate > 0) || warmup < 0 || warmup >= 1) {
      throw new IllegalArgumentException("--rate > 0 and --warmup in [0, 1)");
    }
    LoadResult loaded = input.load();
    int interactions = loaded.dataset().interactions().size();
    StackConfig config = StackConfig.defaults().withFreePorts().withRoles(EnumSet.of(Role.STREAMS, Role.POOLS))
        .withFlink(parallelism, checkpointMs, "hashmap")
        .withRoleSettings(Role.STREAMS, streams());
    out.printf("Replaying %s (%,d interactions) at %,.0f/s into streams + pools (commit %d ms, checkpoint %d ms) ...%n",
        loaded.dataset().name(), interactions, rate, commitMs, checkpointMs);
    out.flush();
    try (LocalStack stack = LocalStack.start(config);
         PipelineWatcher watcher = new PipelineWatcher(stack.clientProperties(), stack.topics())) {
      long warmMs = (long) (interactions * warmup / rate * 1000);
      Thread reset = new Thread(() -> {
        try {
          Thread.sleep(warmMs);
          watcher.resetLatencies();
          out.printf("warm-up over after %.1f s: measuring%n", warmMs / 1000.0);
          out.flush();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "pipeline-bench-warmup");
      Replayer replayer = new Replayer(stack.topics(), stack.bootstrapServers(), stack.clientSettings(),
          Replayer.Options.atRate(rate, false), System.err);
      long t0 = System.nanoTime();
      reset.setDaemon(true);
      reset.start();
      Replayer.Summary sent = replayer.replay(loaded.dataset(), loaded.report().skippedLines());
      double sendSeconds = (System.nanoTime() - t0) / 1e9;
      reset.join();
      // drained: every interaction's state is out and no pool has changed for 5 s
      long deadline = System.nanoTime() + 300_000_000_000L;
      PipelineWatcher.Snapshot s = watcher.snapshot();
      while ((s.stateRecords() < interactions || s.nanosSinceLastPool() < 5_000_000_000L) && System.nanoTime() < deadline) {
        Thread.sleep(500);
        s = watcher.snapshot();
      }
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("benchmark", "pipeline");
      report.put("dataset", loaded.dataset().name());
      report.put("interactions", interactions);
      report.put("offered_rate", rate);
      report.put("achieved_send_rate", round(sent.interactions() / sendSeconds));
      report.put("warmup_interactions", (long) (interactions * warmup));
      report.put("warmup_seconds", warmMs / 1000.0);
      report.put("streams_commit_interval_ms", commitMs);
      report.put("streams_settings", streams());
      report.put("flink_checkpoint_interval_ms", checkpointMs);
      report.put("flink_parallelism", parallelism);
      report.put("exactly_once", true);
      report.put("user_state_records", s.stateRecords());
      report.put("pool_records", s.poolRecords());
      report.put("pool_records_per_interaction", round((double) s.poolRecords() / interactions));
      report.put("interaction_to_user_state", stage(s.stateLatenciesMs()));
      report.put("interaction_to_pool", stage(s.poolLatenciesMs()));
      report.put("drained", s.stateRecords() >= interactions);
      report.put("machine", Machine.describe());
      report.put("created_at", Instant.now().toString());
      out.printf("sent %,d interactions in %.1f s (%.0f/s); read back %,d user-state and %,d pool records (%.1f per interaction)%n",
          sent.interactions(), sendSeconds, sent.interactions() / sendSeconds, s.stateRecords(), s.poolRecords(),
          (double) s.poolRecords() / interactions);
      out.printf("steady state: interaction -> user-state p50 %s / p99 %s ms; interaction -> pool p50 %s / p99 %s ms%n",
          stage(s.stateLatenciesMs()).get("p50_ms"), stage(s.stateLatenciesMs()).get("p99_ms"),
          stage(s.poolLatenciesMs()).get("p50_ms"), stage(s.poolLatenciesMs()).get("p99_ms"));
      if (reportJson != null) {
        JsonReport.write(reportJson, report);
        out.println("report: " + reportJson);
      }
      out.flush();
      return s.stateRecords() >= interactions ? 0 : 1;
    }
  }

  private Map<String, String> streams() {
    Map<String, String> m = new LinkedHashMap<>(streamsSettings);
    m.put("commit.interval.ms", Long.toString(commitMs));
    return m;
  }

  private static Map<String, Object> stage(long[] sortedMs) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("n", sortedMs.length);
    m.put("p50_ms", PipelineWatcher.percentile(sortedMs, 0.5));
    m.put("p90_ms", PipelineWatcher.percentile(sortedMs, 0.9));
    m.put("p99_ms", PipelineWatcher.percentile(sortedMs, 0.99));
    m.put("max_ms", sortedMs.length == 0 ? -1 : sortedMs[sortedMs.length - 1]);
    return m;
  }

  private static double round(double v) {
    return Math.round(v * 10) / 10.0;
  }
}
