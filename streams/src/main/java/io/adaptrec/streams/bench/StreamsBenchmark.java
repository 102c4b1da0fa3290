package io.adaptrec.streams.bench;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.EmbeddedKafkaBroker;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.TopicAdmin;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.StreamCounters;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.streams.UserStateTopology;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Drives the user-state topology on a broker and measures throughput and end-to-end latency:
 * from an interaction handed to the producer to the matching user-state record being returned
 * by a {@code read_committed} consumer (so under exactly-once the commit interval is part of it).
 *
 * <p>The producer stamps each interaction with a {@code bench-sent-ns} header (send time and the
 * event's index); the topology forwards input headers onto the user-state record it emits, so the
 * consumer pairs them without any lookup. The first {@code warmupEvents} (JIT, first-time users,
 * the first transactions) are sent like the rest but left out of every figure: latency and
 * throughput describe the steady state after them. Producer, application and consumer share this JVM, hence one nanoTime clock. With an
 * embedded broker the broker shares the machine's cores too, which is what the goal states.
 */
public final class StreamsBenchmark {
    static final String SENT_HEADER = "bench-sent-ns";

    private StreamsBenchmark() {}

    /**
     * @param rate interactions per second offered by the producer; 0 = as fast as it can
     * @param bootstrap null = start an embedded broker
     * @param registry  null = start an embedded schema registry
     */
    public record BenchConfig(int users, long events, int items, int rate, int historyLength,
                              long commitIntervalMs, int threads, long seed, String bootstrap, String registry,
                              boolean progress, Map<String, String> overrides, boolean decodeUserState,
                              long warmupEvents) {
        public BenchConfig(int users, long events, int items, int rate, int historyLength, long commitIntervalMs,
                           int threads, long seed, String bootstrap, String registry, boolean progress) {
            this(users, events, items, rate, historyLength, commitIntervalMs, threads, seed, bootstrap, registry,
                    progress, Map.of(), false, 0);
        }

        /** The same run at another offered rate, with other event counts (the rate search). */
        public BenchConfig at(int newRate, long newEvents, long newWarmup, String newBootstrap, String newRegistry) {
            return new BenchConfig(users, newEvents, items, newRate, historyLength, commitIntervalMs, threads, seed,
                    newBootstrap, newRegistry, progress, overrides, decodeUserState, newWarmup);
        }

        public BenchConfig {
            overrides = Map.copyOf(overrides == null ? Map.of() : overrides);
            check(users >= 1, "--users must be >= 1, was " + users);
            check(events >= 1, "--events must be >= 1, was " + events);
            check(items >= 1, "--items must be >= 1, was " + items);
            check(rate >= 0, "--rate must be >= 0 (0 = unthrottled), was " + rate);
            check(historyLength >= 1 && historyLength <= 1000, "--history-length must be in 1..1000, was " + historyLength);
            check(commitIntervalMs >= 10, "--commit-interval-ms must be >= 10, was " + commitIntervalMs);
            check(threads >= 1 && threads <= 64, "--threads must be in 1..64, was " + threads);
            check(warmupEvents >= 0 && warmupEvents < events, "--warmup-events must be in [0, --events), was " + warmupEvents);
        }

        private static void check(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException(message);
        }
    }

    /**
     * @param eventsPerSec steady-state user-state records per second (after the warm-up)
     * @param offeredPerSec what the producer offered over the whole run
     * @param received every user-state record read, warm-up included (all arrived when it equals events)
     */
    public record BenchResult(long events, double eventsPerSec, double offeredPerSec, double p50LatencyMs,
                              double p95LatencyMs, double p99LatencyMs, double maxLatencyMs, double seconds,
                              long received, Map<String, Long> counters, Map<String, Object> setup) {
        /** Every record arrived and the steady-state rate kept up with the offered one (within 5 %). */
        public boolean sustained() {
            return received == events && eventsPerSec >= 0.95 * offeredPerSec;
        }

        /** The JSON report: snake_case keys, the four the issue asks for first. */
        public Map<String, Object> toJson() {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("events", events);
            m.put("events_per_sec", round(eventsPerSec));
            m.put("p50_latency_ms", round(p50LatencyMs));
            m.put("p99_latency_ms", round(p99LatencyMs));
            m.put("p95_latency_ms", round(p95LatencyMs));
            m.put("max_latency_ms", round(maxLatencyMs));
            m.put("offered_events_per_sec", round(offeredPerSec));
            m.put("sustained", sustained());
            m.put("seconds", round(seconds));
            m.put("user_state_records", received);
            m.put("counters", counters);
            m.put("setup", setup);
            return m;
        }

        private static double round(double v) {
            return Math.round(v * 10) / 10.0;
        }
    }

    public static BenchResult run(BenchConfig c) throws Exception {
        List<AutoCloseable> toClose = new ArrayList<>();
        Path stateDir = Files.createTempDirectory("adaptrec-bench-state");
        try {
            String bootstrap = c.bootstrap();
            if (bootstrap == null) {
                EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
                toClose.add(0, broker);
                bootstrap = broker.bootstrapServers();
            }
            String registry = c.registry();
            if (registry == null) {
                EmbeddedSchemaRegistry r = EmbeddedSchemaRegistry.start(0);
                toClose.add(0, r);
                registry = r.url();
            }
            String run = "bench" + System.currentTimeMillis() % 100_000_000 + ".";
            Map<String, String> settings = new HashMap<>();
            settings.put("bootstrap.servers", bootstrap);
            settings.put("schema.registry.url", registry);
            settings.put("topic.prefix", run + Topics.DEFAULT_PREFIX);
            settings.put("application.id", run + "user-state");
            settings.put("state.dir", stateDir.toString());
            settings.put("history.length", Integer.toString(c.historyLength()));
            settings.put("commit.interval.ms", Long.toString(c.commitIntervalMs()));
            settings.put("num.stream.threads", Integer.toString(c.threads()));
            settings.put("query.http.enabled", "false");
            settings.putAll(c.overrides()); // --set KEY=VALUE, validated by UserStateConfig like the file
            UserStateConfig config = UserStateConfig.defaults().with(settings);
            Topics topics = UserStateTopology.topics(config);
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                TopicAdmin.ensureTopics(admin, List.of(topics.items(), topics.interactions(), topics.itemEmbeddings(),
                        topics.userState(), topics.deadLetter()), (short) 1, Duration.ofSeconds(30));
            }
            KafkaProducer<Long, Interaction> producer = producer(bootstrap, topics);
            toClose.add(0, producer);
            publishCatalogue(bootstrap, topics, c.items());

            StreamCounters counters = new StreamCounters();
            KafkaStreams streams = new KafkaStreams(UserStateTopology.buildTopology(config, topics, counters),
                    UserStateTopology.streamsConfig(config, counters));
            toClose.add(0, () -> streams.close(Duration.ofSeconds(30)));
            streams.start();
            KafkaConsumer<Long, ?> consumer = consumer(bootstrap, topics, c.decodeUserState());
            toClose.add(0, consumer);
            waitUntil(() -> streams.state() == KafkaStreams.State.RUNNING
                    && counters.catalogueUpdates.get() >= c.items(), Duration.ofSeconds(120),
                    () -> "streams RUNNING with the catalogue loaded (state " + streams.state() + ", counters " + counters + ")");

            long[] latencies = new long[(int) Math.min(c.events() - c.warmupEvents(), Integer.MAX_VALUE - 8)];
            AtomicLong produced = new AtomicLong();
            AtomicLong sendErrors = new AtomicLong();
            long[] window = new long[3];   // first send, last send, first steady-state send
            Thread feeder = new Thread(() -> feed(c, producer, topics, produced, sendErrors, window), "bench-producer");
            long received = 0;
            long steady = 0;
            long lastReceive = 0;
            long deadline = Long.MAX_VALUE;
            try (ProgressBar bar = c.progress() ? new ProgressBarBuilder().setTaskName("streams bench")
                    .setInitialMax(c.events()).setStyle(ProgressBarStyle.ASCII).setUnit(" ev", 1)
                    .showSpeed().build() : null) {
                feeder.start();
                while (received < c.events()) {
                    for (ConsumerRecord<Long, ?> r : consumer.poll(Duration.ofMillis(20))) {
                        Header h = r.headers().lastHeader(SENT_HEADER);
                        if (h == null) continue;
                        long now = System.nanoTime();
                        ByteBuffer b = ByteBuffer.wrap(h.value());
                        long sentNs = b.getLong();
                        long index = b.getLong();
                        if (index >= c.warmupEvents()) {
                            if (steady < latencies.length) latencies[(int) steady] = now - sentNs;
                            steady++;
                        }
                        received++;
                        lastReceive = now;
                    }
                    if (bar != null) bar.stepTo(received);
                    if (!feeder.isAlive() && deadline == Long.MAX_VALUE) deadline = System.nanoTime() + 60_000_000_000L;
                    if (System.nanoTime() > deadline) break; // report what arrived rather than hang
                }
            }
            feeder.join();
            int n = (int) Math.min(steady, latencies.length);
            long[] sorted = Arrays.copyOf(latencies, n);
            Arrays.sort(sorted);
            double seconds = (lastReceive - window[2]) / 1e9;   // the steady-state window
            double offered = produced.get() / Math.max(1e-9, (window[1] - window[0]) / 1e9);
            Map<String, Object> setup = new java.util.LinkedHashMap<>();
            setup.put("users", c.users());
            setup.put("items", c.items());
            setup.put("rate", c.rate());
            setup.put("warmup_events", c.warmupEvents());
            setup.put("history_length", c.historyLength());
            setup.put("commit_interval_ms", c.commitIntervalMs());
            setup.put("stream_threads", c.threads());
            setup.put("processing_guarantee", config.processingGuarantee());
            setup.put("statestore_cache_max_bytes", config.cacheMaxBytes());
            setup.put("overrides", new java.util.TreeMap<>(c.overrides()));
            setup.put("consumer_decodes_user_state", c.decodeUserState());
            setup.put("broker", c.bootstrap() == null ? "embedded" : c.bootstrap());
            setup.put("interactions_partitions", topics.interactions().partitions());
            setup.put("cores", Runtime.getRuntime().availableProcessors());
            setup.put("finished_at", Instant.now().toString());
            // a run whose records did not all arrive says where they stopped: never acknowledged by the
            // broker (send_errors), or acknowledged and not processed by the topology (counters.interactions)
            setup.put("send_errors", sendErrors.get());
            return new BenchResult(c.events(), steady / Math.max(seconds, 1e-9), offered, ms(sorted, 0.50),
                    ms(sorted, 0.95), ms(sorted, 0.99), n == 0 ? 0 : sorted[n - 1] / 1e6, seconds, received,
                    counters.snapshot(), setup);
        } finally {
            for (AutoCloseable a : toClose) {
                try {
                    a.close();
                } catch (Exception e) {
                    System.err.println("bench: closing " + a + " failed: " + e.getMessage());
                }
            }
            deleteTree(stateDir);
        }
    }

    /** Paced by absolute schedule (not sleeps per record), so small stalls are caught up rather than lost. */
    private static void feed(BenchConfig c, KafkaProducer<Long, Interaction> producer, Topics topics,
                             AtomicLong produced, AtomicLong sendErrors, long[] window) {
        Random rnd = new Random(c.seed());
        long t0 = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
        long start = System.nanoTime();
        window[0] = start;
        window[2] = start;
        for (long i = 0; i < c.events(); i++) {
            if (c.rate() > 0) {
                long due = start + (long) (i * 1e9 / c.rate());
                long wait = due - System.nanoTime();
                if (wait > 200_000) java.util.concurrent.locks.LockSupport.parkNanos(wait);
            }
            long user = rnd.nextInt(c.users());
            // popularity skew: squaring a uniform draw favours low item ids
            double u = rnd.nextDouble();
            long item = (long) (u * u * c.items());
            // event time strictly increasing per run: every event is new, none is late
            Interaction v = new Interaction(user, item, Instant.ofEpochMilli(t0 + i), InteractionKind.VIEW, null);
            ProducerRecord<Long, Interaction> r = new ProducerRecord<>(topics.interactions().name(), null,
                    t0 + i, user, v);
            long now = System.nanoTime();
            if (i == c.warmupEvents()) window[2] = now;
            r.headers().add(SENT_HEADER, ByteBuffer.allocate(16).putLong(now).putLong(i).array());
            producer.send(r, (md, e) -> {
                if (e != null && sendErrors.incrementAndGet() <= 3) {
                    System.err.println("bench: an interaction was not written: " + e);
                }
            });
            produced.incrementAndGet();
        }
        producer.flush();
        window[1] = System.nanoTime();
    }

    private static void publishCatalogue(String bootstrap, Topics topics, int items) {
        String[] genres = {"Action", "Comedy", "Drama", "Sci-Fi", "Romance", "Thriller", "Animation", "Horror"};
        String[] words = {"star", "night", "river", "ghost", "king", "love", "city", "war", "dream", "blue", "last", "road"};
        Random rnd = new Random(7);
        try (KafkaProducer<Long, Item> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.LINGER_MS_CONFIG, 5),
                topics.items().keySerde().serializer(), topics.items().valueSerde().serializer())) {
            for (long id = 0; id < items; id++) {
                String title = words[rnd.nextInt(words.length)] + " " + words[rnd.nextInt(words.length)] + " " + id;
                p.send(new ProducerRecord<>(topics.items().name(), id, new Item(id, title,
                        List.of(genres[rnd.nextInt(genres.length)]), Map.of(), Instant.now())));
            }
            p.flush();
        }
    }

    private static KafkaProducer<Long, Interaction> producer(String bootstrap, Topics topics) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 2);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return new KafkaProducer<>(p, topics.interactions().keySerde().serializer(),
                topics.interactions().valueSerde().serializer());
    }

    /**
     * The measuring consumer: {@code read_committed}, manually assigned. Unless {@code decode} it keeps
     * the value as bytes: latency needs only the header, and Avro-decoding every record (embedding and
     * window) on the 2 shared cores would slow the topology it measures.
     */
    private static KafkaConsumer<Long, ?> consumer(String bootstrap, Topics topics, boolean decode) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        KafkaConsumer<Long, ?> c = decode
                ? new KafkaConsumer<Long, UserState>(p, topics.userState().keySerde().deserializer(),
                        topics.userState().valueSerde().deserializer())
                : new KafkaConsumer<Long, byte[]>(p, topics.userState().keySerde().deserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (int i = 0; i < topics.userState().partitions(); i++) parts.add(new TopicPartition(topics.userState().name(), i));
        c.assign(parts); // no group: no rebalance delay before the first record
        c.seekToBeginning(parts);
        return c;
    }

    private static double ms(long[] sorted, double q) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }

    private static void waitUntil(java.util.function.BooleanSupplier ok, Duration max,
                                  java.util.function.Supplier<String> what) throws InterruptedException {
        long end = System.nanoTime() + max.toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) throw new IllegalStateException("timed out after " + max + " waiting for " + what.get());
            Thread.sleep(50);
        }
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
