package io.adaptrec.flink.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.adaptrec.flink.Candidates;
import io.adaptrec.flink.IvfPartitioner;
import io.adaptrec.flink.Partitioner;
import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.flink.SimilarUserPoolsJob;
import io.adaptrec.flink.UserUpdate;
import io.adaptrec.flink.Vectors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Benchmark of the similar-user-pools job on a local MiniCluster, fed by the in-memory
 * {@link SyntheticUsers} generator ({@code "path":"minicluster-inmemory"}): phase 1 inserts every
 * user once (unthrottled), phase 2 streams {@code updates} embedding changes at {@code rate}/s
 * (0 = as fast as the job absorbs them). Reports update throughput of phase 2, freshness
 * (record produced -> pool reaches the sink) and recall@10 of sampled users' final pools against
 * brute force over all users' final embeddings.
 */
public final class PoolsBenchmark {

  /**
   * One run's settings. {@code path} is {@code inmemory} (this class) or {@code kafka}
   * ({@link KafkaPoolsBenchmark}: {@code checkpointMs}, {@code pacedUpdates}, {@code bootstrap} and
   * {@code registry} apply to it only; a null bootstrap/registry starts embedded ones). {@code settings}
   * are job keys (as in similar-user-pools.properties) applied last, e.g. pool.similarity-epsilon;
   * {@code flink} is Flink configuration for the local MiniCluster (e.g. managed memory).
   */
  public record Options(
      int users, int dim, String mode, long updates, double rate, int parallelism, String stateBackend,
      int lists, int probes, int lshBits, int lshRadius, int sample, long seed, Path workDir,
      String path, long checkpointMs, long pacedUpdates, String bootstrap, String registry, Map<String, String> settings,
      Map<String, String> flink) {}

  private PoolsBenchmark() {}

  public static Map<String, Object> run(Options o) throws Exception {
    if (o.path().equals("kafka")) {
      return KafkaPoolsBenchmark.run(o);
    }
    Map<String, String> conf = new LinkedHashMap<>();
    // checkpoints are off the measured path here: the in-memory sink is not transactional
    conf.put("checkpoint.interval-ms", "3600000");
    long t0 = System.nanoTime();
    PoolsConfig config = config(o, conf);
    double trainSeconds = (System.nanoTime() - t0) / 1e9;
    Partitioner partitioner = config.partitioner();

    Set<Long> sample = sample(o);
    BenchRecorder.reset(sample);
    long total = o.users() + o.updates();
    DataGeneratorSource<UserUpdate> source = new DataGeneratorSource<>(
        new Generator(o.users(), o.dim(), o.seed(), o.rate()), total, TypeInformation.of(UserUpdate.class));
    StreamExecutionEnvironment env = localEnvironment(o);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    new SimilarUserPoolsJob(config, partitioner, source, new BenchRecorder.RecordingSink()).withSourceParallelism(1).build(env);

    Thread progress = progressReporter(total);
    long jobStart = System.currentTimeMillis();
    env.execute("pools-benchmark");
    long jobEnd = System.currentTimeMillis();
    progress.interrupt();

    long phase2Start = BenchRecorder.phase2Start.get();
    double loadSeconds = ((phase2Start > 0 ? phase2Start : jobEnd) - jobStart) / 1000.0;
    double updateSeconds = phase2Start > 0 ? (jobEnd - phase2Start) / 1000.0 : 0;
    System.out.printf(Locale.ROOT, "job done in %.1f s; computing recall@10 for %d users by brute force...%n",
        (jobEnd - jobStart) / 1000.0, sample.size());
    double recall = recallAt10(o, o.users() + o.updates(), sample, BenchRecorder.sampledPools);

    Map<String, Object> report = header(o, partitioner, "minicluster-inmemory");
    report.put("target_rate", o.rate());
    report.put("recall@10", recall);
    report.put("recall_sample", sample.size());
    report.put("updates_per_sec", updateSeconds > 0 ? o.updates() / updateSeconds : 0);
    report.put("load_users_per_sec", loadSeconds > 0 ? o.users() / loadSeconds : 0);
    report.put("p50_freshness_ms", BenchRecorder.percentile(0.5));
    report.put("p99_freshness_ms", BenchRecorder.percentile(0.99));
    report.put("pools_emitted", BenchRecorder.emitted.get());
    report.put("train_seconds", trainSeconds);
    report.put("job_seconds", (jobEnd - jobStart) / 1000.0);
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
    return report;
  }

  /** The job's configuration for a run: {@code extra} plus the mode's keys (ivf trains its centroids once per population). */
  static PoolsConfig config(Options o, Map<String, String> extra) throws Exception {
    Files.createDirectories(o.workDir());
    Map<String, String> conf = new LinkedHashMap<>();
    conf.put("mode", o.mode());
    conf.put("parallelism", "" + o.parallelism());
    conf.put("state.backend", o.stateBackend());
    conf.put("embedding.dim", "" + o.dim());
    conf.put("restart.attempts", "0");
    conf.put("checkpoint.dir", o.workDir().toAbsolutePath().toUri().toString() + "checkpoints");
    if (o.mode().equals("ivf")) {
      Path centroids = o.workDir().resolve("ivf-" + o.users() + "-" + o.dim() + "-" + o.lists() + ".centroids");
      if (!Files.exists(centroids)) {
        SyntheticUsers gen = new SyntheticUsers(o.users(), o.dim(), o.seed());
        int n = Math.min(o.users(), Math.max(20 * o.lists(), 20_000));
        SplittableRandom pick = new SplittableRandom(o.seed() + 1);
        float[][] sample = new float[n][];
        for (int i = 0, filled = 0; i < o.users() && filled < n; i++) {
          float[] e = gen.next(0).embedding();
          if (pick.nextInt(o.users() - i) < n - filled) {
            sample[filled++] = e;
          }
        }
        IvfPartitioner.write(centroids, IvfPartitioner.train(sample, o.lists(), 8, o.seed()));
      }
      conf.put("ivf.centroids-file", centroids.toString());
      conf.put("ivf.probes", "" + o.probes());
    } else if (o.mode().equals("lsh")) {
      conf.put("lsh.bits", "" + o.lshBits());
      conf.put("lsh.radius", "" + o.lshRadius());
    }
    conf.putAll(extra);
    conf.putAll(o.settings());
    return PoolsConfig.defaults().with(conf);
  }

  /** A local MiniCluster environment with the run's Flink settings ({@code --flink}). */
  static StreamExecutionEnvironment localEnvironment(Options o) {
    return StreamExecutionEnvironment.createLocalEnvironment(o.parallelism(), Configuration.fromMap(o.flink()));
  }

  /** The users whose recall is checked, drawn from the seed. */
  static Set<Long> sample(Options o) {
    Set<Long> sample = new HashSet<>();
    SplittableRandom r = new SplittableRandom(o.seed() + 2);
    while (sample.size() < Math.min(o.sample(), o.users())) {
      sample.add((long) r.nextInt(o.users()));
    }
    return sample;
  }

  /** The report's first fields, common to both paths. */
  static Map<String, Object> header(Options o, Partitioner partitioner, String path) {
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("users", o.users());
    report.put("dim", o.dim());
    report.put("mode", o.mode());
    report.put("path", path);
    report.put("partitioner", partitioner.describe());
    report.put("parallelism", o.parallelism());
    report.put("state_backend", o.stateBackend());
    report.put("updates", o.updates());
    report.put("settings", o.settings());
    report.put("flink_settings", o.flink());
    return report;
  }

  public static void writeJson(Map<String, Object> report, Path file) throws Exception {
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
  }

  /**
   * Replays the generator's first {@code records} records to get the final embeddings, then scores
   * the sampled users' final pools ({@code pools}: user -> member ids) against brute force.
   */
  static double recallAt10(Options o, long records, Set<Long> sample, Map<Long, long[]> pools) {
    SyntheticUsers replay = new SyntheticUsers(o.users(), o.dim(), o.seed());
    for (long i = 0; i < records; i++) {
      replay.next(0);
    }
    float[] all = new float[o.users() * o.dim()];
    for (int u = 0; u < o.users(); u++) {
      System.arraycopy(replay.embedding(u), 0, all, u * o.dim(), o.dim());
    }
    long[] users = sample.stream().mapToLong(Long::longValue).toArray();
    AtomicLong hits = new AtomicLong();
    IntStream.range(0, users.length).parallel().forEach(i -> {
      int u = (int) users[i];
      float[] q = replay.embedding(u);
      Candidates best = new Candidates(10);
      for (int v = 0; v < o.users(); v++) {
        if (v != u) {
          float s = Vectors.dot(q, all, v);
          if (best.size() < 10 || best.beatsLast(s, v)) {
            best.insert(v, s);
          }
        }
      }
      long[] got = pools.getOrDefault((long) u, new long[0]);
      for (int k = 0; k < best.size(); k++) {
        for (long g : got) {
          if (g == best.id(k)) {
            hits.incrementAndGet();
          }
        }
      }
    });
    return hits.get() / (10.0 * users.length);
  }

  private static Thread progressReporter(long total) {
    Thread t = new Thread(() -> {
      long startNs = System.nanoTime();
      long last = 0;
      try {
        while (true) {
          Thread.sleep(5_000);
          long g = BenchRecorder.generated.get();
          double secs = (System.nanoTime() - startNs) / 1e9;
          double rate = (g - last) / 5.0;
          last = g;
          int pct = (int) (100 * g / Math.max(1, total));
          String bar = "#".repeat(pct / 5) + ".".repeat(20 - pct / 5);
          long eta = rate > 0 ? (long) ((total - g) / rate) : -1;
          System.out.printf(Locale.ROOT, "[%s] %3d%% %,d/%,d records  %,.0f rec/s  pools emitted %,d  elapsed %.0fs  eta %ds%n",
              bar, pct, g, total, rate, BenchRecorder.emitted.get(), secs, eta);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "bench-progress");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Generates the synthetic stream in order (source parallelism 1), pacing phase 2 at the target rate. */
  static final class Generator implements GeneratorFunction<Long, UserUpdate> {
    private static final long serialVersionUID = 1L;
    private final int users;
    private final int dim;
    private final long seed;
    private final double rate;
    private transient SyntheticUsers gen;
    private transient long phase2StartNanos;

    Generator(int users, int dim, long seed, double rate) {
      this.users = users;
      this.dim = dim;
      this.seed = seed;
      this.rate = rate;
    }

    @Override
    public void open(SourceReaderContext readerContext) {
      gen = new SyntheticUsers(users, dim, seed);
    }

    @Override
    public UserUpdate map(Long index) throws Exception {
      if (index == users) {
        phase2StartNanos = System.nanoTime();
        BenchRecorder.phase2Start.set(System.currentTimeMillis());
      }
      if (index >= users && rate > 0) {
        long due = phase2StartNanos + (long) ((index - users) * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
      }
      BenchRecorder.generated.incrementAndGet();
      return gen.next(System.currentTimeMillis());
    }
  }
}
