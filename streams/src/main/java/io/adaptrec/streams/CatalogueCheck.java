package io.adaptrec.streams;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * A second, tiny application that dead-letters invalid catalogue records exactly once.
 *
 * <p>The user-state application reads {@code items} and {@code item-embeddings} into global stores
 * on every instance, on the global thread, which cannot produce; and Kafka Streams forbids
 * reading the same topic as a global and a regular source in one topology. So this application
 * (its own application id, hence its own consumer group and transactions) reads both topics
 * once across the cluster, applies the same validation and writes a {@link DeadLetter} per bad
 * record. The global processors skip the same records, so both sides agree on what is valid.
 */
public final class CatalogueCheck {
    private CatalogueCheck() {}

    public static String applicationId(UserStateConfig config) {
        return config.applicationId() + "-catalogue-check";
    }

    public static Topology buildTopology(UserStateConfig config, Topics topics, StreamCounters counters) {
        TextEmbedding text = new TextEmbedding(config.textDim());
        Topology t = new Topology();
        t.addSource("items-source", topics.items().keySerde().deserializer(), topics.items().valueSerde().deserializer(),
                topics.items().name());
        t.addProcessor("check-items", () -> new Check<Long, Item>(topics.items(), counters,
                (k, v) -> Validation.item(k, v, text)), "items-source");
        t.addSource("item-embeddings-source", topics.itemEmbeddings().keySerde().deserializer(),
                topics.itemEmbeddings().valueSerde().deserializer(), topics.itemEmbeddings().name());
        t.addProcessor("check-item-embeddings", () -> new Check<Long, ItemEmbedding>(topics.itemEmbeddings(), counters,
                Validation::embedding), "item-embeddings-source");
        t.addSink("dead-letter-sink", topics.deadLetter().name(), topics.deadLetter().keySerde().serializer(),
                topics.deadLetter().valueSerde().serializer(), "check-items", "check-item-embeddings");
        return t;
    }

    public static Properties streamsConfig(UserStateConfig config, StreamCounters counters) {
        Properties p = UserStateTopology.streamsConfig(config, counters);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(config));
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.remove(StreamsConfig.APPLICATION_SERVER_CONFIG);
        p.remove(DeadLetters.SKIP_TOPICS_CONFIG);   // this application is the one that dead-letters them
        return p;
    }

    private interface Rule<K, V> {
        String check(K key, V value);
    }

    private static final class Check<K, V> implements Processor<K, V, String, DeadLetter> {
        private final Topic<K, V> topic;
        private final StreamCounters counters;
        private final Rule<K, V> rule;
        private ProcessorContext<String, DeadLetter> context;

        Check(Topic<K, V> topic, StreamCounters counters, Rule<K, V> rule) {
            this.topic = topic;
            this.counters = counters;
            this.rule = rule;
        }

        @Override
        public void init(ProcessorContext<String, DeadLetter> context) {
            this.context = context;
        }

        @Override
        public void process(Record<K, V> record) {
            if (record.value() == null) {
                if (record.key() != null) return; // a tombstone deletes the item: valid
                fail(record, "tombstone without a key");
                return;
            }
            String error = rule.check(record.key(), record.value());
            if (error != null) fail(record, error);
        }

        private void fail(Record<K, V> record, String error) {
            counters.invalid.incrementAndGet();
            RecordMetadata md = context.recordMetadata().orElseThrow();
            byte[] rawKey = record.key() == null ? null : topic.keySerde().serializer().serialize(md.topic(), record.key());
            byte[] rawValue = record.value() == null ? null
                    : topic.valueSerde().serializer().serialize(md.topic(), record.value());
            DeadLetter letter = DeadLetters.of(md.topic(), md.partition(), md.offset(), error, "catalogue-check",
                    rawKey, rawValue, context.currentSystemTimeMs());
            context.forward(new Record<>(md.topic(), letter, record.timestamp()));
            counters.deadLettered.incrementAndGet();
        }
    }
}
