package io.adaptrec.streams;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.Topics;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * AdaptRec stage 1 input as a Kafka Streams topology:
 *
 * <pre>
 *  items ──────────► [global] item text vectors  ─┐
 *  item-embeddings ─► [global] item model vectors ─┤ (read by every task)
 *  interactions ───► user-state processor ◄────────┘──► user-state
 *                      │ stores: user histories, pending users (RocksDB + changelog)
 *                      └──► dead-letter (invalid, late, tombstone without key)
 * </pre>
 *
 * Item stores are global because interactions are partitioned by user while any user may touch
 * any item; re-keying every interaction by item and back would cost two repartition topics per
 * event. {@link #buildTopology} is a pure function of its arguments.
 */
public final class UserStateTopology {
    public static final String USER_STORE = "user-histories";
    public static final String PENDING_STORE = "user-pending-items";
    public static final String ITEM_MODEL_STORE = "item-model-vectors";
    static final String USER_STATE_SINK = "user-state-sink";
    static final String DEAD_LETTER_SINK = "dead-letter-sink";
    /** Default producer linger.ms / batch.size of the streams producer (see {@link #streamsConfig}). */
    static final int PRODUCER_LINGER_MS = 5;
    static final int PRODUCER_BATCH_SIZE = 128 * 1024;

    private UserStateTopology() {}

    /** The text store's name carries the dimension: changing it starts a fresh store instead of mixing sizes. */
    public static String itemTextStore(UserStateConfig config) {
        return "item-text-vectors-d" + config.textDim();
    }

    /** The topic declarations for this configuration (shared serdes and registry client). */
    private static <T> org.apache.kafka.common.serialization.Deserializer<T> waiting(
            org.apache.kafka.common.serialization.Deserializer<T> d) {
        return new io.adaptrec.schemas.RegistryWaitingDeserializer<>(d, "streams global stores");
    }

    public static Topics topics(UserStateConfig config) {
        // the registry settings (basic.auth.*) come with the kafka.* pass-through, as in every role
        return new Topics(config.topicPrefix(), AvroSerdeConfig.of(config.schemaRegistryUrl(), config.kafkaOverrides()));
    }

    public static Topology buildTopology(UserStateConfig config) {
        return buildTopology(config, topics(config), new StreamCounters());
    }

    public static Topology buildTopology(UserStateConfig config, Topics topics, StreamCounters counters) {
        TextEmbedding text = new TextEmbedding(config.textDim());
        CatalogueView view = new CatalogueView(text, config.versionSwitchCoverage(), config.itemCacheEntries());
        String textStore = itemTextStore(config);
        Topology t = new Topology();

        // global stores: no changelog, the compacted source topic is their log. Their decoders wait
        // while the registry is unavailable: the global thread cannot be replaced, and its death
        // would stop the whole application (an instance restarted during an outage would stay down)
        t.addGlobalStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(textStore), Serdes.Long(), Serdes.ByteArray())
                        .withLoggingDisabled(),
                "items-source", waiting(topics.items().keySerde().deserializer()),
                waiting(topics.items().valueSerde().deserializer()),
                topics.items().name(), "item-text-vectors",
                () -> new CatalogueUpdaters.TextVectors(textStore, view, counters));
        t.addGlobalStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ITEM_MODEL_STORE), Serdes.Long(), Serdes.ByteArray())
                        .withLoggingDisabled(),
                "item-embeddings-source", waiting(topics.itemEmbeddings().keySerde().deserializer()),
                waiting(topics.itemEmbeddings().valueSerde().deserializer()), topics.itemEmbeddings().name(),
                "item-model-vectors", () -> new CatalogueUpdaters.ModelVectors(ITEM_MODEL_STORE, view, counters));

        t.addSource("interactions-source", topics.interactions().keySerde().deserializer(),
                topics.interactions().valueSerde().deserializer(), topics.interactions().name());
        t.addProcessor("user-state",
                () -> new UserStateProcessor(config, view, counters, topics.interactions(), textStore),
                "interactions-source");
        // caching: repeated updates of one user within a commit interval reach RocksDB and the
        // changelog once; the emitted user-state records are forwarded directly, not cached
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(USER_STORE),
                Serdes.Long(), Codecs.historySerde()).withCachingEnabled(), "user-state");
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PENDING_STORE),
                Serdes.Long(), Serdes.ByteArray()).withCachingEnabled(), "user-state");

        t.addSink(USER_STATE_SINK, topics.userState().name(), topics.userState().keySerde().serializer(),
                new UserStateEncoder(topics.userState().valueSerde().serializer(),
                        !topics.registry().config().useLatestVersion()), "user-state");
        t.addSink(DEAD_LETTER_SINK, topics.deadLetter().name(), topics.deadLetter().keySerde().serializer(),
                topics.deadLetter().valueSerde().serializer(), "user-state");
        return t;
    }

    /** Kafka Streams settings for this configuration; {@code counters} reach the dead-letter handler. */
    public static Properties streamsConfig(UserStateConfig config, StreamCounters counters) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.numStreamThreads());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, config.processingGuarantee());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, config.cacheMaxBytes());
        // Producer defaults for exactly-once (kafka.producer.* overrides them). Kafka Streams' own
        // linger.ms=100 equals the commit interval, so nearly every record waited for the commit's
        // flush and the whole interval's sending sat on the commit's critical path (producer flush
        // was 4.2 of 14 s in the benchmark profile). linger 5 ms streams records out during the
        // interval; 128 KiB batches keep requests few at 20k records/s (BENCHMARKS.md, Streams).
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), PRODUCER_LINGER_MS);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), PRODUCER_BATCH_SIZE);
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.Handler.class);
        p.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, config.schemaRegistryUrl());
        p.put(DeadLetters.TOPIC_PREFIX_CONFIG, config.topicPrefix());
        // the global thread decodes the catalogue topics and cannot produce (a dead letter returned
        // there kills it, and with it the application): it skips undecodable catalogue records, which
        // the catalogue-check application dead-letters once
        Topics names = topics(config);
        p.put(DeadLetters.SKIP_TOPICS_CONFIG, names.items().name() + "," + names.itemEmbeddings().name());
        p.put(DeadLetters.COUNTERS_CONFIG, counters);
        if (config.httpEnabled() && config.httpPort() > 0) {
            // lets every instance tell which instance owns a user (interactive-query routing)
            p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, config.httpHost() + ":" + config.httpPort());
        }
        p.putAll(config.kafkaOverrides());
        return p;
    }
}
