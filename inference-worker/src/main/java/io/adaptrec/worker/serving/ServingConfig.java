package io.adaptrec.worker.serving;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import io.adaptrec.worker.model.EngineOptions;
import io.adaptrec.worker.rollout.RolloutConfig;
import io.adaptrec.worker.selection.Strategy;
import io.adaptrec.worker.training.RefreshConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Typed, validated configuration of the worker's roles ({@code WorkerApp serve | refresh | control}),
 * parsed once at start. Every key,
 * its default and range is declared in {@link #KEYS}; {@code config/inference-worker.properties}
 * is the sample that documents them. {@code kafka.*} keys go to every Kafka client verbatim.
 */
public record ServingConfig(
        String bootstrapServers,
        String schemaRegistryUrl,
        String topicPrefix,
        Path modelDir,
        String groupId,
        String instanceId,
        boolean exactlyOnce,
        int loops,
        int maxBatch,
        long pollMs,
        long deadlineMs,
        int maxCandidates,
        int generatedCandidates,
        int maxK,
        Strategy strategy,
        int m,
        int poolSize,
        int knownItems,
        int historyLength,
        long cacheEntries,
        int prewarmUsers,
        long prewarmMs,
        double popularityHalfLifeMs,
        boolean rocksDbStore,
        Path stateDir,
        boolean publishItemEmbeddings,
        int djlThreads,
        EngineOptions engine,
        String httpHost,
        int httpPort,
        long readyTimeoutMs,
        RolloutConfig rollout,
        RefreshConfig refresh,
        Map<String, String> kafka) {

    /** Every key of {@code inference-worker.properties}: serving, then adapters/rollout, then refresh. */
    public static final List<Key> KEYS = java.util.stream.Stream.of(servingKeys(), RolloutConfig.KEYS, RefreshConfig.KEYS)
            .flatMap(List::stream).toList();

    private static List<Key> servingKeys() {
        return List.of(
            new Key("bootstrap.servers", "127.0.0.1:9092", "host:port[,host:port...]", "Kafka brokers"),
            new Key("schema.registry.url", "http://127.0.0.1:8081", "http(s) URL", "Confluent-API schema registry"),
            new Key("topic.prefix", "adaptrec.", "string without spaces, may be empty", "prefix of every topic name"),
            new Key("model.dir", null, "a model directory written by 'train --out'", "the base model and its adapters/CURRENT adapter"),
            new Key("serving.group.id", "adaptrec-workers", "[A-Za-z0-9._-]+", "consumer group of rec-requests: workers with the same id share its partitions"),
            new Key("serving.instance.id", "worker-1", "[A-Za-z0-9._-]+, unique per running worker",
                    "names this worker: its transactional.id is <group>-<instance>, so a restarted instance fences its crashed predecessor and aborts its open transaction at once"),
            new Key("serving.delivery", "exactly-once", "exactly-once | at-least-once",
                    "exactly-once: one transaction per batch (responses + offsets), read_committed readers see one response per request; at-least-once: lower latency, a crash may repeat responses, readers keep the first per requestId"),
            new Key("serving.loops", "1", "1..64", "serving loops (each its own consumer in the group, transactional producer and thread): with 2, one loop scores while the other commits; each loop's DJL calls use serving.djl.threads intra-op threads"),
            new Key("serving.batch.max", "64", "1..4096", "requests scored together (one poll, one transaction)"),
            new Key("serving.poll.ms", "5", "1..1000", "longest wait for requests when idle"),
            new Key("serving.request.deadline.ms", "10000", "1..86400000", "a request read later than requestedAt + this is answered with status TIMEOUT, never scored"),
            new Key("serving.candidates.max", "500", "1..100000", "most candidates a request may carry"),
            new Key("serving.candidates.generate", "100", "1..10000", "candidates the worker generates when a request carries none"),
            new Key("serving.k.max", "1000", "1..100000", "largest k a request may ask for"),
            new Key("serving.selection.strategy", "adaptive", "adaptive | similarity | static | none", "stage-2 selection (AdaptRec: adaptive)"),
            new Key("serving.selection.m", "5", "0..20", "M: demonstrations in the prompt (paper: 5)"),
            new Key("serving.pool.size", "10", "1..100", "N: pool members considered (paper: 10)"),
            new Key("serving.selection.known-items", "3", "1..5", "adaptive selection judges each pool member on the target's most recent known items: (N + 1) x this many prompts per uncached selection (offline evaluation: 3)"),
            new Key("serving.history.length", "10", "1..100", "the target's most recent items in the prompt (paper: 10)"),
            new Key("serving.cache.entries", "100000", "0..100000000", "bound of the stage-2 selection cache (entries)"),
            new Key("serving.prewarm.users", "10000", "0..100000", "before taking traffic, compute the stage-2 selections of this many most recently active users (a cold selection scores (N + 1) x known-items prompts; without warming, a restarted worker falls behind on its first requests); 0 = off"),
            new Key("serving.prewarm.ms", "120000", "0..3600000", "time budget of the warming; readiness waits for it"),
            new Key("serving.popularity.half-life.ms", "86400000", "1..3.2e12", "event-time half-life of 'popular lately' (candidate generation, cold start)"),
            new Key("serving.state.store", "memory", "memory | rocksdb", "where the mirrored per-user state lives: the heap (~1 KB per user) or RocksDB on local disk (bounded memory, for populations beyond the heap)"),
            new Key("serving.state.dir", System.getProperty("java.io.tmpdir") + "/adaptrec-worker", "path", "RocksDB directory of serving.state.store=rocksdb (<dir>/<instance id>; wiped and rebuilt from the topics at start)"),
            new Key("serving.item-embeddings.publish", "true", "true | false", "publish the model's item embeddings to item-embeddings when they are not there yet (moves user embeddings and pools into the model's space)"),
            new Key("serving.djl.threads", "1", "1..256", "intra-op threads of the serving engine (PyTorch or ONNX Runtime; one pool per process for PyTorch, per adapter session for ONNX Runtime)"),
            new Key("serving.engine", "onnxruntime", "pytorch | onnxruntime | tensorrt",
                    "what scores prompts (default onnxruntime: on 2 CPU cores it halved the model's p50 and cut its p99 3-4x at identical rankings, BENCHMARKS.md): the PyTorch network itself, or the base with each served adapter merged and exported to ONNX, on ONNX Runtime (CPU or CUDA) or its TensorRT execution provider (GPU); an exported engine is built in the background per adapter and takes over once it serves every loaded adapter"),
            new Key("serving.device", "cpu", "cpu | gpu", "where the engine runs; gpu needs the GPU build (mvn -Dgpu: onnxruntime_gpu) and a CUDA 12 driver"),
            new Key("http.host", "127.0.0.1", "host name or address", "health and metrics bind host"),
            new Key("http.port", "7081", "0..65535 (0 = any free port)", "GET /health/live, /health/ready, /metrics"),
            new Key("serving.ready.timeout.ms", "600000", "1000..86400000", "how long start-up may take to catch up on user-state and user-pools before it fails"));
    }

    /** The config file (null: defaults only) with {@code overrides} applied on top, parsed. */
    public static ServingConfig load(Path file, Map<String, String> overrides) {
        Properties p = ConfigKeys.load(file, KEYS);
        overrides.forEach(p::setProperty);
        return fromProperties(p);
    }

    public static ServingConfig load(Path file) {
        return fromProperties(ConfigKeys.load(file, KEYS));
    }

    public static ServingConfig fromProperties(Properties p) {
        ConfigKeys in = ConfigKeys.parse("inference-worker", KEYS, p);
        int djlThreads = (int) in.integer("serving.djl.threads", 1, 256);
        ServingConfig c = new ServingConfig(
                in.text("bootstrap.servers", s -> s.matches("[^\\s,]+:\\d+(,[^\\s,]+:\\d+)*")),
                in.text("schema.registry.url", s -> s.matches("https?://\\S+")),
                in.text("topic.prefix", s -> !s.contains(" ")),
                Path.of(in.text("model.dir", s -> !s.isBlank())),
                in.text("serving.group.id", s -> s.matches("[A-Za-z0-9._-]+")),
                in.text("serving.instance.id", s -> s.matches("[A-Za-z0-9._-]+")),
                in.text("serving.delivery", s -> s.matches("exactly-once|at-least-once")).equals("exactly-once"),
                (int) in.integer("serving.loops", 1, 64),
                (int) in.integer("serving.batch.max", 1, 4096),
                in.integer("serving.poll.ms", 1, 1000),
                in.integer("serving.request.deadline.ms", 1, 86_400_000),
                (int) in.integer("serving.candidates.max", 1, 100_000),
                (int) in.integer("serving.candidates.generate", 1, 10_000),
                (int) in.integer("serving.k.max", 1, 100_000),
                strategy(in),
                (int) in.integer("serving.selection.m", 0, 20),
                (int) in.integer("serving.pool.size", 1, 100),
                (int) in.integer("serving.selection.known-items", 1, 5),
                (int) in.integer("serving.history.length", 1, 100),
                in.integer("serving.cache.entries", 0, 100_000_000),
                (int) in.integer("serving.prewarm.users", 0, 100_000),
                in.integer("serving.prewarm.ms", 0, 3_600_000),
                in.decimal("serving.popularity.half-life.ms", 1, 3.2e12),
                in.text("serving.state.store", v -> v.matches("memory|rocksdb")).equals("rocksdb"),
                Path.of(in.text("serving.state.dir", v -> !v.isBlank())),
                in.bool("serving.item-embeddings.publish"),
                djlThreads,
                engine(in, djlThreads),
                in.text("http.host", s -> !s.isBlank()),
                (int) in.integer("http.port", 0, 65535),
                in.integer("serving.ready.timeout.ms", 1000, 86_400_000),
                RolloutConfig.parse(in),
                RefreshConfig.parse(in),
                in.kafka());
        in.check();
        return c;
    }

    private static EngineOptions engine(ConfigKeys in, int threads) {
        String e = in.text("serving.engine", v -> v.matches("pytorch|onnxruntime|tensorrt"));
        String d = in.text("serving.device", v -> v.matches("cpu|gpu"));
        if (!e.matches("pytorch|onnxruntime|tensorrt") || !d.matches("cpu|gpu")) {
            return EngineOptions.PYTORCH_CPU;   // check() reports the bad key
        }
        try {
            return EngineOptions.parse(e, d, threads);
        } catch (IllegalArgumentException bad) {
            in.invalid("serving.engine=" + e + " with serving.device=" + d + ": " + bad.getMessage());
            return EngineOptions.PYTORCH_CPU;
        }
    }

    private static Strategy strategy(ConfigKeys in) {
        String s = in.text("serving.selection.strategy", v -> v.matches("adaptive|similarity|static|none"));
        return s.matches("adaptive|similarity|static|none") ? Strategy.parse(s) : Strategy.ADAPTIVE;
    }

    /** transactional.id of this worker's producer (its first loop's; loop i > 0 appends "-i"). */
    public String transactionalId() {
        return groupId + "-" + instanceId;
    }

    /** transactional.id and group.instance.id of loop {@code i}. */
    public String loopMemberId(int i) {
        return i == 0 ? transactionalId() : transactionalId() + "-" + i;
    }

    /** The topics, with this configuration's prefix and registry (the {@code kafka.*} settings reach the registry client too). */
    public static io.adaptrec.schemas.Topics topics(ServingConfig cfg) {
        return new io.adaptrec.schemas.Topics(cfg.topicPrefix(),
                io.adaptrec.schemas.AvroSerdeConfig.of(cfg.schemaRegistryUrl(), cfg.kafka()));
    }

    /** Settings every Kafka client of the worker starts from: brokers plus the kafka.* pass-through. */
    public Properties clientProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers);
        p.putAll(kafka);
        return p;
    }
}
