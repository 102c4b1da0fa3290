package io.adaptrec.streams;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import io.adaptrec.streams.outcome.OutcomeConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;

/**
 * Typed, validated configuration of the streams role, parsed once at start. Keys, defaults and
 * ranges are declared as data in {@link #KEYS}; {@code streams.properties} in the resources is the
 * sample that documents every one of them. Keys starting with {@code kafka.} are passed to Kafka
 * Streams verbatim (prefix removed), e.g. {@code kafka.security.protocol=SSL} for a real cluster.
 * The {@code outcome.*} keys of the outcome application ({@link OutcomeConfig}) are part of the
 * same list and file.
 */
public record UserStateConfig(
        String bootstrapServers,
        String schemaRegistryUrl,
        String topicPrefix,
        boolean ensureTopics,
        int topicReplicationFactor,
        String applicationId,
        Path stateDir,
        int numStreamThreads,
        long commitIntervalMs,
        String processingGuarantee,
        long cacheMaxBytes,
        int historyLength,
        long graceMs,
        double recencyHalfLife,
        int textDim,
        double versionSwitchCoverage,
        int itemCacheEntries,
        long pendingScanIntervalMs,
        int pendingScanBatch,
        long migrationIntervalMs,
        int migrationBatch,
        boolean httpEnabled,
        String httpHost,
        int httpPort,
        OutcomeConfig outcome,
        Map<String, String> kafkaOverrides) {

    public static final List<Key> KEYS;

    private static final List<Key> USER_STATE_KEYS = List.of(
            new Key("bootstrap.servers", "127.0.0.1:9092", "host:port[,host:port...]", "Kafka brokers"),
            new Key("schema.registry.url", "http://127.0.0.1:8081", "http(s) URL", "Confluent-API schema registry"),
            new Key("topic.prefix", "adaptrec.", "string, may be empty", "prefix of every topic name"),
            new Key("topics.ensure", "true", "true | false", "create missing topics (with their declared partitions and cleanup policy) at start"),
            new Key("topics.replication.factor", "1", "1..32", "replication factor of topics created at start"),
            new Key("application.id", "adaptrec-user-state", "non-empty, [A-Za-z0-9._-]", "Kafka Streams application id (consumer group, internal topic prefix)"),
            new Key("state.dir", System.getProperty("java.io.tmpdir") + "/adaptrec-streams", "path", "RocksDB state directory"),
            new Key("num.stream.threads", "1", "1..64", "stream threads"),
            new Key("commit.interval.ms", "100", "10..600000", "commit (and, under exactly-once, visibility) interval"),
            new Key("processing.guarantee", "exactly_once_v2", "exactly_once_v2 | at_least_once", "delivery guarantee"),
            new Key("statestore.cache.max.bytes", "10485760", "0..2^40", "record cache in front of the user store (0 = off: the streams role alone at 20,000/s then has p99 121 instead of 176 ms, but with the pools job on the same 2 cores pool freshness p99 rose from 0.76-1.7 s to 2.3-2.7 s, so it stays on)"),
            new Key("history.length", "20", "1..1000", "L: interactions kept per user (the prompt uses the last 10)"),
            new Key("history.grace.ms", "86400000", "0..31536000000", "how far behind a user's newest event a late event is still placed in order; older ones go to the dead letters"),
            new Key("embedding.recency.half-life", "0", "0..10000 (positions; 0 = plain mean as in the paper)", "recency weighting of the mean: weight 0.5^(position/half-life), newest = position 0"),
            new Key("embedding.text.dim", "64", "8..4096", "dimension of the deterministic text embedding used before a model publishes vectors"),
            new Key("embedding.version.switch-coverage", "0.95", "(0,1]", "share of the catalogue a new model version must cover before user embeddings move to it"),
            new Key("item.cache.entries", "200000", "0..50000000", "decoded item vectors cached in memory per version store (0 = read RocksDB every time)"),
            new Key("pending.scan.interval.ms", "1000", "10..3600000", "how often users with not-yet-embeddable items are re-checked"),
            new Key("pending.scan.batch", "10000", "1..10000000", "users re-checked per scan and task (bounds the scan's cost)"),
            new Key("migration.interval.ms", "100", "10..3600000", "how often a version migration advances"),
            new Key("migration.batch", "2000", "1..10000000", "users migrated per step and task (bounds the migration's cost)"),
            new Key("query.http.enabled", "true", "true | false", "serve GET /users/{id} and /metrics"),
            new Key("query.http.host", "127.0.0.1", "host name or address", "interactive-query bind host"),
            new Key("query.http.port", "7071", "0..65535 (0 = any free port)", "interactive-query port"));

    static {
        List<Key> all = new java.util.ArrayList<>(USER_STATE_KEYS);
        all.addAll(OutcomeConfig.KEYS);
        KEYS = List.copyOf(all);
    }

    private static final Set<String> GUARANTEES = Set.of("exactly_once_v2", "at_least_once");

    public static UserStateConfig defaults() {
        return fromProperties(new Properties());
    }

    /** Reads a properties file; system properties with the same key override it. */
    public static UserStateConfig load(Path file) {
        return fromProperties(ConfigKeys.load(Objects.requireNonNull(file, "file"), KEYS));
    }

    /** Validates every key; the exception lists all problems at once, each naming key and range. */
    public static UserStateConfig fromProperties(Properties p) {
        ConfigKeys in = ConfigKeys.parse("streams", KEYS, p);
        UserStateConfig c = new UserStateConfig(
                in.text("bootstrap.servers", s -> s.matches("[^\\s,]+:\\d+(,[^\\s,]+:\\d+)*")),
                in.text("schema.registry.url", s -> s.matches("https?://\\S+")),
                in.text("topic.prefix", s -> !s.contains(" ")),
                in.bool("topics.ensure"),
                (int) in.integer("topics.replication.factor", 1, 32),
                in.text("application.id", s -> s.matches("[A-Za-z0-9._-]+")),
                Path.of(in.nonBlank("state.dir")),
                (int) in.integer("num.stream.threads", 1, 64),
                in.integer("commit.interval.ms", 10, 600_000),
                in.text("processing.guarantee", GUARANTEES::contains),
                in.integer("statestore.cache.max.bytes", 0, 1L << 40),
                (int) in.integer("history.length", 1, 1000),
                in.integer("history.grace.ms", 0, 31_536_000_000L),
                in.decimal("embedding.recency.half-life", 0, 10_000),
                (int) in.integer("embedding.text.dim", 8, 4096),
                in.decimal("embedding.version.switch-coverage", 0, 1, false),
                (int) in.integer("item.cache.entries", 0, 50_000_000),
                in.integer("pending.scan.interval.ms", 10, 3_600_000),
                (int) in.integer("pending.scan.batch", 1, 10_000_000),
                in.integer("migration.interval.ms", 10, 3_600_000),
                (int) in.integer("migration.batch", 1, 10_000_000),
                in.bool("query.http.enabled"),
                in.nonBlank("query.http.host"),
                (int) in.integer("query.http.port", 0, 65535),
                OutcomeConfig.read(in),
                in.kafka());
        in.check();
        String outcomeProblem = c.outcome().problem();
        if (outcomeProblem != null) throw new IllegalArgumentException("invalid streams configuration:\n  " + outcomeProblem);
        return c;
    }

    /** The same configuration with some keys replaced (tests, benchmark, the local stack). */
    public UserStateConfig with(Map<String, String> changes) {
        Properties p = toProperties();
        changes.forEach(p::setProperty);
        return fromProperties(p);
    }

    public Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("schema.registry.url", schemaRegistryUrl);
        p.setProperty("topic.prefix", topicPrefix);
        p.setProperty("topics.ensure", Boolean.toString(ensureTopics));
        p.setProperty("topics.replication.factor", Integer.toString(topicReplicationFactor));
        p.setProperty("application.id", applicationId);
        p.setProperty("state.dir", stateDir.toString());
        p.setProperty("num.stream.threads", Integer.toString(numStreamThreads));
        p.setProperty("commit.interval.ms", Long.toString(commitIntervalMs));
        p.setProperty("processing.guarantee", processingGuarantee);
        p.setProperty("statestore.cache.max.bytes", Long.toString(cacheMaxBytes));
        p.setProperty("history.length", Integer.toString(historyLength));
        p.setProperty("history.grace.ms", Long.toString(graceMs));
        p.setProperty("embedding.recency.half-life", Double.toString(recencyHalfLife));
        p.setProperty("embedding.text.dim", Integer.toString(textDim));
        p.setProperty("embedding.version.switch-coverage", Double.toString(versionSwitchCoverage));
        p.setProperty("item.cache.entries", Integer.toString(itemCacheEntries));
        p.setProperty("pending.scan.interval.ms", Long.toString(pendingScanIntervalMs));
        p.setProperty("pending.scan.batch", Integer.toString(pendingScanBatch));
        p.setProperty("migration.interval.ms", Long.toString(migrationIntervalMs));
        p.setProperty("migration.batch", Integer.toString(migrationBatch));
        p.setProperty("query.http.enabled", Boolean.toString(httpEnabled));
        p.setProperty("query.http.host", httpHost);
        p.setProperty("query.http.port", Integer.toString(httpPort));
        outcome.write(p);
        kafkaOverrides.forEach((k, v) -> p.setProperty("kafka." + k, v));
        return p;
    }
}
