package io.adaptrec.flink.bench;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code adaptrec bench pools}: runs {@link PoolsBenchmark} and writes its JSON report. */
@Command(name = "pools", mixinStandardHelpOptions = true,
    description = {"Benchmark the similar-user-pools Flink job on a local MiniCluster, fed by a synthetic population:",
        "--path inmemory (generator source, collecting sink) or --path kafka (the production job: Avro user-state",
        "from a topic, exactly-once user-pools sink; embedded broker and registry unless --bootstrap/--registry)."},
    footer = {"", "Examples:",
        "  adaptrec bench pools --users 10000 --mode exact --report-json reports/pools-exact-10k.json",
        "  ADAPTREC_JAVA_OPTS='-Xms12g -Xmx12g -XX:+UseParallelGC -XX:+AlwaysPreTouch' adaptrec bench pools --users 1000000 \\",
        "      --mode ivf --lists 2000 --probes 4 --updates 200000 --report-json reports/pools-ivf-1m.json",
        "  ADAPTREC_JAVA_OPTS='-Xms12g -Xmx12g -XX:+UseParallelGC' adaptrec bench pools --path kafka --state-backend rocksdb \\",
        "      --users 1000000 --mode ivf --lists 2000 --probes 4 --updates 100000 --paced-updates 20000 \\",
        "      --report-json reports/pools-ivf-1m-kafka.json",
        "At 1M users give the JVM a fixed heap (-Xms = -Xmx) and, for the in-memory path, -XX:+AlwaysPreTouch:",
        "first-touch page faults inside young collections made their pauses up to 1.8 s (0.4-0.5 s pre-touched)."})
public class PoolsBenchCommand implements Callable<Integer> {
  @Option(names = "--users", defaultValue = "10000", description = "population size (default ${DEFAULT-VALUE})")
  int users;

  @Option(names = "--dim", defaultValue = "32", description = "embedding dimension (default ${DEFAULT-VALUE})")
  int dim;

  @Option(names = "--mode", defaultValue = "exact", description = "exact | ivf | lsh (default ${DEFAULT-VALUE})")
  String mode;

  @Option(names = "--updates", defaultValue = "-1", description = "phase-2 embedding updates; -1 = max(20000, users/5)")
  long updates;

  @Option(names = "--rate", defaultValue = "0", description = "inmemory: phase-2 target updates/s, 0 = unthrottled; "
      + "kafka: rate of the paced phase, 0 = 70 %% of the backlog rate measured first (default ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--path", defaultValue = "inmemory", description = "inmemory | kafka (default ${DEFAULT-VALUE})")
  String path;

  @Option(names = "--checkpoint-ms", defaultValue = "1000",
      description = "kafka: checkpoint interval; the exactly-once sink makes pools readable per checkpoint (default ${DEFAULT-VALUE})")
  long checkpointMs;

  @Option(names = "--paced-updates", defaultValue = "-1",
      description = "kafka: updates sent at --rate after the backlog, for freshness; -1 = updates/2 (default ${DEFAULT-VALUE})")
  long pacedUpdates;

  @Option(names = "--bootstrap", description = "kafka: an existing cluster's bootstrap servers (default: an embedded broker)")
  String bootstrap;

  @Option(names = "--registry", description = "kafka: an existing schema registry URL (default: an embedded one)")
  String registry;

  @Option(names = "--parallelism", defaultValue = "2", description = "job parallelism (default ${DEFAULT-VALUE})")
  int parallelism;

  @Option(names = "--state-backend", defaultValue = "hashmap", description = "hashmap | rocksdb (default ${DEFAULT-VALUE})")
  String stateBackend;

  @Option(names = "--lists", defaultValue = "-1", description = "ivf lists; -1 = users/500 (min 8)")
  int lists;

  @Option(names = "--probes", defaultValue = "4", description = "ivf lists each user is replicated to (default ${DEFAULT-VALUE})")
  int probes;

  @Option(names = "--lsh-bits", defaultValue = "-1", description = "lsh hyperplanes; -1 = log2(users/250)")
  int lshBits;

  @Option(names = "--lsh-radius", defaultValue = "1", description = "lsh Hamming radius (default ${DEFAULT-VALUE})")
  int lshRadius;

  @Option(names = "--sample", defaultValue = "1000", description = "users whose recall@10 is checked by brute force (default ${DEFAULT-VALUE})")
  int sample;

  @Option(names = "--seed", defaultValue = "42", description = "generator seed (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--work-dir", defaultValue = "target/bench-pools", description = "centroids and checkpoints (default ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "a job key for this run (repeatable; any key of similar-user-pools.properties), e.g. pool.similarity-epsilon=0.01")
  Map<String, String> settings = new java.util.LinkedHashMap<>();

  @Option(names = "--flink", paramLabel = "KEY=VALUE",
      description = "a Flink configuration key for the local MiniCluster (repeatable), e.g. taskmanager.memory.managed.size=1g "
          + "(RocksDB's block cache and write buffers come from managed memory; Flink's local default is 128m)")
  Map<String, String> flinkSettings = new java.util.LinkedHashMap<>();

  @Option(names = "--report-json", required = true, description = "where to write the JSON report")
  Path reportJson;

  @Override
  public Integer call() throws Exception {
    if (!mode.equals("exact") && !mode.equals("ivf") && !mode.equals("lsh")) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--mode must be exact, ivf or lsh, was '" + mode + "'");
    }
    if (!path.equals("inmemory") && !path.equals("kafka")) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--path must be inmemory or kafka, was '" + path + "'");
    }
    long n = updates >= 0 ? updates : Math.max(20_000, users / 5);
    int l = lists > 0 ? lists : Math.max(8, users / 500);
    int bits = lshBits > 0 ? lshBits : Math.max(1, Math.min(20, (int) Math.round(Math.log(users / 250.0) / Math.log(2))));
    Map<String, Object> report = PoolsBenchmark.run(new PoolsBenchmark.Options(
        users, dim, mode, n, rate, parallelism, stateBackend, l, probes, bits, lshRadius, sample, seed, workDir,
        path, checkpointMs, pacedUpdates >= 0 ? pacedUpdates : n / 2, bootstrap, registry, settings, flinkSettings));
    PoolsBenchmark.writeJson(report, reportJson);
    System.out.println("pools benchmark: " + report);
    System.out.println("report written to " + reportJson.toAbsolutePath());
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new PoolsBenchCommand()).execute(args));
  }
}
