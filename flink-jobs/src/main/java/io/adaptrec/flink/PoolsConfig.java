package io.adaptrec.flink;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Typed, validated configuration of the similar-user-pools job, parsed once at start. Every key,
 * its default, range and meaning is listed in {@link #KEYS} and in
 * {@code flink-jobs/config/similar-user-pools.properties}. Parsed {@link ConfigKeys#failFast
 * fail-fast}: the first problem throws, and {@code kafka.*} keys are declared keys of this job.
 * The one pass-through is {@value #KAFKA_CLIENT}{@code *}: those settings go, prefix removed, to
 * every Kafka client of the job (source, pool sink, dead-letter sink), e.g. {@code
 * kafka.client.security.protocol=SASL_SSL}, and to the registry client (Confluent's names: {@code
 * kafka.client.basic.auth.user.info=user:password}, as the other roles' {@code kafka.*}); settings the job itself owns ({@code bootstrap.servers},
 * {@code group.id}, {@code transactional.id}, {@code isolation.level}, serializers) are refused there.
 */
public record PoolsConfig(
    Mode mode,
    int poolSize,
    int spareCandidates,
    int minHistory,
    ExcludedMembers excludeMembers,
    int embeddingDim,
    float similarityEpsilon,
    long debounceMs,
    boolean emitOnMembersOnly,
    int emitCacheUsers,
    int exactShards,
    int lshBits,
    int lshRadius,
    long lshSeed,
    String ivfCentroidsFile,
    int ivfProbes,
    int parallelism,
    int maxParallelism,
    String stateBackend,
    String rocksdbCompression,
    String rocksdbCompactionStyle,
    long checkpointIntervalMs,
    String checkpointDir,
    int restartAttempts,
    long restartDelayMs,
    long restartMaxDelayMs,
    String bootstrapServers,
    Map<String, String> kafkaClient,
    String schemaRegistryUrl,
    String topicPrefix,
    String groupId,
    String transactionalIdPrefix,
    String startingOffsets) implements Serializable {

  public enum Mode { EXACT, LSH, IVF }

  /** Prefix of the Kafka client settings passed through to every client of the job. */
  public static final String KAFKA_CLIENT = "kafka.client.";

  /** Client settings the job sets itself; a {@value #KAFKA_CLIENT} key may not override them. */
  private static final Set<String> OWNED_CLIENT_KEYS = Set.of("bootstrap.servers", "group.id", "transactional.id",
      "isolation.level", "key.deserializer", "value.deserializer", "key.serializer", "value.serializer",
      "enable.auto.commit");

  public PoolsConfig {
    kafkaClient = Map.copyOf(kafkaClient);
  }

  /**
   * {@code pool.exclude-members}: the value as given ({@code spec}: empty, a comma-separated id
   * list, or {@code @path}) and the user ids it names. These users get a pool but are never a
   * member of anyone's.
   */
  public record ExcludedMembers(String spec, Set<Long> ids) implements Serializable {
    public static final ExcludedMembers NONE = new ExcludedMembers("", Set.of());

    public ExcludedMembers {
      ids = Set.copyOf(ids);
    }

    @Override
    public String toString() {
      return spec.isEmpty() ? "none" : "'" + spec + "' (" + ids.size() + " users)";
    }
  }

  public static final List<Key> KEYS = List.of(
      new Key("mode", "exact", "exact | lsh | ivf", "exact Top-N, SimHash multi-probe, or k-means IVF"),
      new Key("pool.size", "10", "1..1000", "N, neighbours per pool (paper: 10)"),
      new Key("pool.spare-candidates", "10", "0..1000", "extra candidates kept beyond N so pools refill without re-querying"),
      new Key("pool.min-history", "3", "0..10000", "users with a shorter history are not pooled"),
      new Key("pool.exclude-members", "", "id[,id...] | @file (one id per line), may be empty",
          "users that get a pool but are never in anyone's pool (opted out; evaluation test users)"),
      new Key("embedding.dim", "0", "0..65536", "expected embedding dimension, 0 = accept the first one seen"),
      new Key("pool.similarity-epsilon", "0.0001", "0..1", "a pool is re-emitted when ids change or a similarity moves more than this"),
      new Key("emit.debounce-ms", "0", "0..600000", "coalesce a user's pool changes for this long before emitting, 0 = emit at once"),
      new Key("emit.on", "order", "order | members",
          "order: emit when the members, their order or a similarity (epsilon) change; members: only when the set of members changes"),
      new Key("emit.cache-users", "1000000", "0..100000000",
          "rocksdb: last emitted pools kept in memory per emit subtask (read-through, write-through), 0 = read state every time"),
      new Key("exact.shards", "0", "0..1024", "exact mode: shards (each holds all embeddings), 0 = parallelism"),
      new Key("lsh.bits", "10", "1..20", "lsh mode: hyperplanes, 2^bits cells"),
      new Key("lsh.radius", "1", "0..lsh.bits", "lsh mode: Hamming radius of the buckets each user is replicated to"),
      new Key("lsh.seed", "42", "any long", "lsh mode: seed of the random hyperplanes (must not change while state exists)"),
      new Key("ivf.centroids-file", "", "path; required in ivf mode", "ivf mode: centroid file ('ivf <lists> <dim>' then one row per list)"),
      new Key("ivf.probes", "8", "1..lists", "ivf mode: nearest lists each user is replicated to (its home first)"),
      new Key("parallelism", "2", "1..1024", "operator parallelism"),
      new Key("max-parallelism", "128", "parallelism..32768", "key groups, the upper bound for rescaling"),
      new Key("state.backend", "rocksdb", "rocksdb | hashmap", "rocksdb (production), hashmap (tests, small populations)"),
      new Key("rocksdb.compression", "default", "default | none | snappy | lz4 | zstd",
          "rocksdb: compression of every level; default leaves the cluster's setting (Flink's own: snappy)"),
      new Key("rocksdb.compaction-style", "default", "default | universal | level",
          "rocksdb: default leaves the cluster's setting (Flink's own: level); universal rewrites data fewer times (up to 2x the disk space)"),
      new Key("checkpoint.interval-ms", "10000", "100..3600000", "exactly-once checkpoint interval; pools become visible to read_committed consumers on completion"),
      new Key("checkpoint.dir", "file:///tmp/adaptrec/flink-checkpoints", "URI, non-empty", "checkpoint storage URI"),
      new Key("restart.attempts", "10", "0..1000", "restart attempts after a failure before the job fails (0 = never restart)"),
      new Key("restart.delay-ms", "2000", "0..600000", "delay before the first restart"),
      new Key("restart.max-delay-ms", "60000", "restart.delay-ms..3600000",
          "each further restart waits twice as long, up to this (= restart.delay-ms: a fixed delay); reset after an hour without failure"),
      new Key("kafka.bootstrap-servers", "127.0.0.1:9092", "host:port[,host:port...], non-empty", "Kafka bootstrap servers"),
      new Key("schema.registry.url", "http://127.0.0.1:8081", "http(s) URL, non-empty", "Confluent-API schema registry URL"),
      new Key("topic.prefix", "adaptrec.", "string, may be empty", "prefix of the topic names (user-state, user-pools)"),
      new Key("kafka.group-id", "adaptrec-similar-user-pools", "non-empty", "consumer group of the user-state source"),
      new Key("kafka.transactional-id-prefix", "adaptrec-similar-user-pools", "non-empty, unique per job", "transactional id prefix of the exactly-once sink"),
      new Key("kafka.starting-offsets", "earliest", "earliest | committed", "where the source starts (committed falls back to earliest)"));

  public static PoolsConfig defaults() {
    return from(Map.of());
  }

  /** Reads a properties file as it stands (values trimmed; no system-property overrides). */
  public static PoolsConfig load(Path file) throws IOException {
    Properties p = ConfigKeys.read(file);
    Map<String, String> m = new LinkedHashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
    return from(m);
  }

  /**
   * Parses and validates; unknown keys are rejected so a typo never silently means a default.
   * {@value #KAFKA_CLIENT}{@code *} keys are taken out first (the pass-through).
   */
  public static PoolsConfig from(Map<String, String> given) {
    Map<String, String> raw = new LinkedHashMap<>();
    Map<String, String> client = new java.util.TreeMap<>();
    given.forEach((k, v) -> {
      if (k.startsWith(KAFKA_CLIENT)) {
        String name = k.substring(KAFKA_CLIENT.length());
        if (name.isEmpty()) {
          throw new IllegalArgumentException(k + " needs a Kafka client setting after the prefix, e.g. " + KAFKA_CLIENT + "security.protocol");
        }
        if (OWNED_CLIENT_KEYS.contains(name)) {
          throw new IllegalArgumentException(k + " cannot be set: the job sets " + name + " itself"
              + (name.equals("bootstrap.servers") ? " (use kafka.bootstrap-servers)" : ""));
        }
        client.put(name, v);
      } else {
        raw.put(k, v);
      }
    });
    ConfigKeys in = ConfigKeys.failFast(KEYS, raw);
    Mode mode = switch (in.text("mode").toLowerCase(Locale.ROOT)) {
      case "exact" -> Mode.EXACT;
      case "lsh" -> Mode.LSH;
      case "ivf" -> Mode.IVF;
      default -> throw new IllegalArgumentException("mode must be exact, lsh or ivf, was '" + in.text("mode") + "'");
    };
    int parallelism = (int) in.integer("parallelism", 1, 1024);
    String backend = in.text("state.backend").toLowerCase(Locale.ROOT);
    if (!backend.equals("rocksdb") && !backend.equals("hashmap")) {
      throw new IllegalArgumentException("state.backend must be rocksdb or hashmap, was '" + backend + "'");
    }
    String offsets = in.text("kafka.starting-offsets").toLowerCase(Locale.ROOT);
    if (!offsets.equals("earliest") && !offsets.equals("committed")) {
      throw new IllegalArgumentException("kafka.starting-offsets must be earliest or committed, was '" + offsets + "'");
    }
    String compression = in.text("rocksdb.compression", v -> v.toLowerCase(Locale.ROOT).matches("default|none|snappy|lz4|zstd"))
        .toLowerCase(Locale.ROOT);
    String compactionStyle = in.text("rocksdb.compaction-style", v -> v.toLowerCase(Locale.ROOT).matches("default|universal|level"))
        .toLowerCase(Locale.ROOT);
    int bits = (int) in.integer("lsh.bits", 1, 20);
    long restartDelay = in.integer("restart.delay-ms", 0, 600_000);
    PoolsConfig c = new PoolsConfig(
        mode,
        (int) in.integer("pool.size", 1, 1000),
        (int) in.integer("pool.spare-candidates", 0, 1000),
        (int) in.integer("pool.min-history", 0, 10000),
        excludedMembers(in.text("pool.exclude-members")),
        (int) in.integer("embedding.dim", 0, 65536),
        (float) in.decimal("pool.similarity-epsilon", 0, 1),
        in.integer("emit.debounce-ms", 0, 600_000),
        emitOn(in.text("emit.on")),
        (int) in.integer("emit.cache-users", 0, 100_000_000),
        (int) in.integer("exact.shards", 0, 1024),
        bits,
        (int) in.integer("lsh.radius", 0, bits),
        in.integer("lsh.seed", Long.MIN_VALUE, Long.MAX_VALUE),
        in.text("ivf.centroids-file"),
        (int) in.integer("ivf.probes", 1, 1 << 20),
        parallelism,
        (int) in.integer("max-parallelism", parallelism, 32768),
        backend,
        compression,
        compactionStyle,
        in.integer("checkpoint.interval-ms", 100, 3_600_000),
        in.nonBlank("checkpoint.dir"),
        (int) in.integer("restart.attempts", 0, 1000),
        restartDelay,
        in.integer("restart.max-delay-ms", restartDelay, 3_600_000),
        in.nonBlank("kafka.bootstrap-servers"),
        client,
        in.nonBlank("schema.registry.url"),
        in.text("topic.prefix"),
        in.nonBlank("kafka.group-id"),
        in.nonBlank("kafka.transactional-id-prefix"),
        offsets);
    try {
      KafkaIo.serdeConfig(c);   // the registry settings among kafka.client.* (basic.auth.*) are checked now, not on a task manager
    } catch (org.apache.kafka.common.config.ConfigException e) {
      throw new IllegalArgumentException("kafka.client.* registry settings: " + e.getMessage(), e);
    }
    if (mode == Mode.IVF && c.ivfCentroidsFile().isBlank()) {
      throw new IllegalArgumentException("mode=ivf needs ivf.centroids-file (train one with the pools benchmark or IvfPartitioner.train)");
    }
    if (mode == Mode.LSH && c.embeddingDim() == 0) {
      throw new IllegalArgumentException("mode=lsh needs embedding.dim > 0 (the hyperplanes are drawn at start)");
    }
    return c;
  }

  /** The Kafka client settings of {@value #KAFKA_CLIENT}{@code *}, prefix removed, as {@link Properties}. */
  public Properties kafkaClientProperties() {
    Properties p = new Properties();
    p.putAll(kafkaClient);
    return p;
  }

  /** Every setting, with the registry password and any client setting that may hold a secret masked. */
  @Override
  public String toString() {
    Map<String, String> m = asMap();
    m.replaceAll((k, v) -> secret(k) && !v.isEmpty() ? (k.endsWith("user.info") ? v.split(":", 2)[0] + ":***" : "***") : v);
    return "PoolsConfig" + m;
  }

  private static boolean secret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.endsWith("user.info") || k.contains("password") || k.contains("jaas") || k.contains("secret")
        || k.endsWith(".key");
  }

  /** The users of {@code pool.exclude-members}: they get pools, they are in none. */
  public Set<Long> excludedMembers() {
    return excludeMembers.ids();
  }

  /**
   * Parses {@code pool.exclude-members}: empty, user ids separated by commas (white space around
   * them allowed), or {@code @path} naming a UTF-8 file with one id per line (blank lines and lines
   * starting with {@code #} skipped; a relative path is resolved against the working directory of
   * the process that parses the config). Throws naming the key and the offending entry or file.
   */
  static ExcludedMembers excludedMembers(String value) {
    String key = "pool.exclude-members";
    String spec = value.strip();
    if (spec.isEmpty()) {
      return ExcludedMembers.NONE;
    }
    Set<Long> ids = new HashSet<>();
    if (spec.startsWith("@")) {
      String name = spec.substring(1).strip();
      if (name.isEmpty()) {
        throw new IllegalArgumentException(key + " must name a file after '@', was '" + value + "'");
      }
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(name), StandardCharsets.UTF_8);
      } catch (IOException | InvalidPathException e) {
        throw new IllegalArgumentException(key + ": cannot read the user id file " + name + " (" + e + ")", e);
      }
      for (int i = 0; i < lines.size(); i++) {
        String t = lines.get(i).strip();
        if (!t.isEmpty() && !t.startsWith("#")) {
          ids.add(userId(t, key + ": line " + (i + 1) + " of " + name));
        }
      }
    } else {
      String[] entries = spec.split(",", -1);
      for (int i = 0; i < entries.length; i++) {
        String t = entries[i].strip();
        if (!t.isEmpty()) {
          ids.add(userId(t, key + " must be user ids separated by commas or @file; entry " + (i + 1)));
        }
      }
    }
    return new ExcludedMembers(spec, ids);
  }

  private static long userId(String text, String where) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + " is not a user id (a long): '" + text + "'");
    }
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

  private static boolean emitOn(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "order" -> false;
      case "members" -> true;
      default -> throw new IllegalArgumentException("emit.on must be order or members, was '" + value + "'");
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
    m.put("pool.exclude-members", excludeMembers.spec());
    m.put("embedding.dim", "" + embeddingDim);
    m.put("pool.similarity-epsilon", "" + similarityEpsilon);
    m.put("emit.debounce-ms", "" + debounceMs);
    m.put("emit.on", emitOnMembersOnly ? "members" : "order");
    m.put("emit.cache-users", "" + emitCacheUsers);
    m.put("exact.shards", "" + exactShards);
    m.put("lsh.bits", "" + lshBits);
    m.put("lsh.radius", "" + lshRadius);
    m.put("lsh.seed", "" + lshSeed);
    m.put("ivf.centroids-file", ivfCentroidsFile);
    m.put("ivf.probes", "" + ivfProbes);
    m.put("parallelism", "" + parallelism);
    m.put("max-parallelism", "" + maxParallelism);
    m.put("state.backend", stateBackend);
    m.put("rocksdb.compression", rocksdbCompression);
    m.put("rocksdb.compaction-style", rocksdbCompactionStyle);
    m.put("checkpoint.interval-ms", "" + checkpointIntervalMs);
    m.put("checkpoint.dir", checkpointDir);
    m.put("restart.attempts", "" + restartAttempts);
    m.put("restart.delay-ms", "" + restartDelayMs);
    m.put("restart.max-delay-ms", "" + restartMaxDelayMs);
    m.put("kafka.bootstrap-servers", bootstrapServers);
    kafkaClient.forEach((k, v) -> m.put(KAFKA_CLIENT + k, v));
    m.put("schema.registry.url", schemaRegistryUrl);
    m.put("topic.prefix", topicPrefix);
    m.put("kafka.group-id", groupId);
    m.put("kafka.transactional-id-prefix", transactionalIdPrefix);
    m.put("kafka.starting-offsets", startingOffsets);
    return m;
  }
}
