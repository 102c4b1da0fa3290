package io.adaptrec.flink;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * Typed, validated configuration of the similar-user-pools job, parsed once at start. Every key,
 * its default and its meaning is listed in {@link #KEYS} and in
 * {@code flink-jobs/config/similar-user-pools.properties}.
 */
public record PoolsConfig(
    Mode mode,
    int poolSize,
    int spareCandidates,
    int minHistory,
    int embeddingDim,
    float similarityEpsilon,
    long debounceMs,
    int exactShards,
    int lshBits,
    int lshRadius,
    long lshSeed,
    String ivfCentroidsFile,
    int ivfProbes,
    int parallelism,
    int maxParallelism,
    String stateBackend,
    long checkpointIntervalMs,
    String checkpointDir,
    int restartAttempts,
    long restartDelayMs,
    String bootstrapServers,
    String schemaRegistryUrl,
    String topicPrefix,
    String groupId,
    String transactionalIdPrefix,
    String startingOffsets) implements Serializable {

  public enum Mode { EXACT, LSH, IVF }

  /** One declared key: name, default (null: no default), description. */
  public record Key(String name, String defaultValue, String description) {}

  public static final List<Key> KEYS = List.of(
      new Key("mode", "exact", "exact | lsh | ivf: exact Top-N, SimHash multi-probe, or k-means IVF"),
      new Key("pool.size", "10", "N, neighbours per pool (paper: 10); 1..1000"),
      new Key("pool.spare-candidates", "10", "extra candidates kept beyond N so pools refill without re-querying; 0..1000"),
      new Key("pool.min-history", "3", "users with a shorter history are not pooled; 0..10000"),
      new Key("embedding.dim", "0", "expected embedding dimension, 0 = accept the first one seen; 0..65536"),
      new Key("pool.similarity-epsilon", "0.0001", "a pool is re-emitted when ids change or a similarity moves more than this; 0..1"),
      new Key("emit.debounce-ms", "0", "coalesce a user's pool changes for this long before emitting, 0 = emit at once; 0..600000"),
      new Key("exact.shards", "0", "exact mode: shards (each holds all embeddings), 0 = parallelism; 0..1024"),
      new Key("lsh.bits", "10", "lsh mode: hyperplanes, 2^bits cells; 1..20"),
      new Key("lsh.radius", "1", "lsh mode: Hamming radius of the buckets each user is replicated to; 0..lsh.bits"),
      new Key("lsh.seed", "42", "lsh mode: seed of the random hyperplanes (must not change while state exists)"),
      new Key("ivf.centroids-file", "", "ivf mode: centroid file ('ivf <lists> <dim>' then one row per list); required in ivf mode"),
      new Key("ivf.probes", "8", "ivf mode: nearest lists each user is replicated to (its home first); 1..lists"),
      new Key("parallelism", "2", "operator parallelism; 1..1024"),
      new Key("max-parallelism", "128", "key groups, the upper bound for rescaling; parallelism..32768"),
      new Key("state.backend", "rocksdb", "rocksdb (production) | hashmap (tests, small populations)"),
      new Key("checkpoint.interval-ms", "10000", "exactly-once checkpoint interval; pools become visible to read_committed consumers on completion; 100..3600000"),
      new Key("checkpoint.dir", "file:///tmp/adaptrec/flink-checkpoints", "checkpoint storage URI"),
      new Key("restart.attempts", "10", "fixed-delay restart attempts after a failure; 0..1000"),
      new Key("restart.delay-ms", "2000", "delay between restart attempts; 0..600000"),
      new Key("kafka.bootstrap-servers", "127.0.0.1:9092", "Kafka bootstrap servers"),
      new Key("schema.registry.url", "http://127.0.0.1:8081", "Confluent-API schema registry URL"),
      new Key("topic.prefix", "adaptrec.", "prefix of the topic names (user-state, user-pools)"),
      new Key("kafka.group-id", "adaptrec-similar-user-pools", "consumer group of the user-state source"),
      new Key("kafka.transactional-id-prefix", "adaptrec-similar-user-pools", "transactional id prefix of the exactly-once sink; unique per job"),
      new Key("kafka.starting-offsets", "earliest", "earliest | committed (committed falls back to earliest)"));

  public static PoolsConfig defaults() {
    return from(Map.of());
  }

  public static PoolsConfig load(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    Map<String, String> m = new LinkedHashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
    return from(m);
  }

  /** Parses and validates; unknown keys are rejected so a typo never silently means a default. */
  public static PoolsConfig from(Map<String, String> raw) {
    for (String k : raw.keySet()) {
      if (KEYS.stream().noneMatch(key -> key.name().equals(k))) {
        throw new IllegalArgumentException("unknown config key '" + k + "'; known keys: "
            + KEYS.stream().map(Key::name).toList());
      }
    }
    Function<String, String> v = k -> raw.getOrDefault(k,
        KEYS.stream().filter(key -> key.name().equals(k)).findFirst().orElseThrow().defaultValue());
    Mode mode = switch (v.apply("mode").toLowerCase(Locale.ROOT)) {
      case "exact" -> Mode.EXACT;
      case "lsh" -> Mode.LSH;
      case "ivf" -> Mode.IVF;
      default -> throw new IllegalArgumentException("mode must be exact, lsh or ivf, was '" + v.apply("mode") + "'");
    };
    int parallelism = intIn(v, "parallelism", 1, 1024);
    String backend = v.apply("state.backend").toLowerCase(Locale.ROOT);
    if (!backend.equals("rocksdb") && !backend.equals("hashmap")) {
      throw new IllegalArgumentException("state.backend must be rocksdb or hashmap, was '" + backend + "'");
    }
    String offsets = v.apply("kafka.starting-offsets").toLowerCase(Locale.ROOT);
    if (!offsets.equals("earliest") && !offsets.equals("committed")) {
      throw new IllegalArgumentException("kafka.starting-offsets must be earliest or committed, was '" + offsets + "'");
    }
    int bits = intIn(v, "lsh.bits", 1, 20);
    PoolsConfig c = new PoolsConfig(
        mode,
        intIn(v, "pool.size", 1, 1000),
        intIn(v, "pool.spare-candidates", 0, 1000),
        intIn(v, "pool.min-history", 0, 10000),
        intIn(v, "embedding.dim", 0, 65536),
        (float) doubleIn(v, "pool.similarity-epsilon", 0, 1),
        longIn(v, "emit.debounce-ms", 0, 600_000),
        intIn(v, "exact.shards", 0, 1024),
        bits,
        intIn(v, "lsh.radius", 0, bits),
        longIn(v, "lsh.seed", Long.MIN_VALUE, Long.MAX_VALUE),
        v.apply("ivf.centroids-file"),
        intIn(v, "ivf.probes", 1, 1 << 20),
        parallelism,
        intIn(v, "max-parallelism", parallelism, 32768),
        backend,
        longIn(v, "checkpoint.interval-ms", 100, 3_600_000),
        nonBlank(v, "checkpoint.dir"),
        intIn(v, "restart.attempts", 0, 1000),
        longIn(v, "restart.delay-ms", 0, 600_000),
        nonBlank(v, "kafka.bootstrap-servers"),
        nonBlank(v, "schema.registry.url"),
        v.apply("topic.prefix"),
        nonBlank(v, "kafka.group-id"),
        nonBlank(v, "kafka.transactional-id-prefix"),
        offsets);
    if (mode == Mode.IVF && c.ivfCentroidsFile().isBlank()) {
      throw new IllegalArgumentException("mode=ivf needs ivf.centroids-file (train one with the pools benchmark or IvfPartitioner.train)");
    }
    if (mode == Mode.LSH && c.embeddingDim() == 0) {
      throw new IllegalArgumentException("mode=lsh needs embedding.dim > 0 (the hyperplanes are drawn at start)");
    }
    return c;
  }

  /** Candidate-list capacity K = N + spare. */
  public int capacity() {
    return poolSize + spareCandidates;
  }

  /** Builds the partitioner of the configured mode (reads the centroid file in ivf mode). */
  public Partitioner partitioner() throws IOException {
    return switch (mode) {
      case EXACT -> new ExactSharding(exactShards == 0 ? parallelism : exactShards, parallelism, maxParallelism);
      case LSH -> new SimHashPartitioner(embeddingDim, lshBits, lshRadius, lshSeed);
      case IVF -> {
        float[][] rows = IvfPartitioner.read(Path.of(ivfCentroidsFile));
        if (embeddingDim > 0 && rows[0].length != embeddingDim) {
          throw new IllegalArgumentException("ivf.centroids-file has dimension " + rows[0].length + " but embedding.dim is " + embeddingDim);
        }
        if (ivfProbes > rows.length) {
          throw new IllegalArgumentException("ivf.probes must be in [1, " + rows.length + "] (lists in the centroid file), was " + ivfProbes);
        }
        yield new IvfPartitioner(rows, ivfProbes);
      }
    };
  }

  /** A copy with some keys overridden (tests, benchmark). */
  public PoolsConfig with(Map<String, String> overrides) {
    Map<String, String> m = new LinkedHashMap<>(asMap());
    m.putAll(overrides);
    return from(m);
  }

  public Map<String, String> asMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("mode", mode.name().toLowerCase(Locale.ROOT));
    m.put("pool.size", "" + poolSize);
    m.put("pool.spare-candidates", "" + spareCandidates);
    m.put("pool.min-history", "" + minHistory);
    m.put("embedding.dim", "" + embeddingDim);
    m.put("pool.similarity-epsilon", "" + similarityEpsilon);
    m.put("emit.debounce-ms", "" + debounceMs);
    m.put("exact.shards", "" + exactShards);
    m.put("lsh.bits", "" + lshBits);
    m.put("lsh.radius", "" + lshRadius);
    m.put("lsh.seed", "" + lshSeed);
    m.put("ivf.centroids-file", ivfCentroidsFile);
    m.put("ivf.probes", "" + ivfProbes);
    m.put("parallelism", "" + parallelism);
    m.put("max-parallelism", "" + maxParallelism);
    m.put("state.backend", stateBackend);
    m.put("checkpoint.interval-ms", "" + checkpointIntervalMs);
    m.put("checkpoint.dir", checkpointDir);
    m.put("restart.attempts", "" + restartAttempts);
    m.put("restart.delay-ms", "" + restartDelayMs);
    m.put("kafka.bootstrap-servers", bootstrapServers);
    m.put("schema.registry.url", schemaRegistryUrl);
    m.put("topic.prefix", topicPrefix);
    m.put("kafka.group-id", groupId);
    m.put("kafka.transactional-id-prefix", transactionalIdPrefix);
    m.put("kafka.starting-offsets", startingOffsets);
    return m;
  }

  private static String nonBlank(Function<String, String> v, String key) {
    String s = v.apply(key);
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException(key + " must not be empty");
    }
    return s;
  }

  private static int intIn(Function<String, String> v, String key, int min, int max) {
    return (int) longIn(v, key, min, max);
  }

  private static long longIn(Function<String, String> v, String key, long min, long max) {
    String s = v.apply(key);
    long x;
    try {
      x = Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be an integer in [" + min + ", " + max + "], was '" + s + "'");
    }
    if (x < min || x > max) {
      throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], was " + x);
    }
    return x;
  }

  private static double doubleIn(Function<String, String> v, String key, double min, double max) {
    String s = v.apply(key);
    double x;
    try {
      x = Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a number in [" + min + ", " + max + "], was '" + s + "'");
    }
    if (!(x >= min && x <= max)) {
      throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], was " + x);
    }
    return x;
  }
}
