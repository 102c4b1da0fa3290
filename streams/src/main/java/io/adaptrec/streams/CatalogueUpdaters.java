package io.adaptrec.streams;

import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The global-store processors that turn the catalogue topics into item vectors every instance
 * can read: text vectors from {@code items}, model vectors from {@code item-embeddings}.
 *
 * <p>They run on the global thread and, since Kafka Streams 3.8, also on restore (records are
 * reprocessed through them rather than copied), which is what allows the stores to hold derived
 * values. Every update reads the old value first, so replaying a record after a crash (global
 * stores are at-least-once) leaves counts unchanged. Invalid records are skipped and counted here;
 * the catalogue-check application dead-letters them, because the global thread cannot produce.
 */
final class CatalogueUpdaters {
    private static final Logger log = LoggerFactory.getLogger(CatalogueUpdaters.class);

    private CatalogueUpdaters() {}

    /** items -> deterministic text vector per item; meta entry: number of catalogue items. */
    static final class TextVectors implements Processor<Long, Item, Void, Void> {
        private final String storeName;
        private final CatalogueView view;
        private final StreamCounters counters;
        private KeyValueStore<Long, byte[]> store;
        private long count;

        TextVectors(String storeName, CatalogueView view, StreamCounters counters) {
            this.storeName = storeName;
            this.view = view;
            this.counters = counters;
        }

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            store = context.getStateStore(storeName);
            byte[] meta = store.get(CatalogueView.META_KEY);
            count = meta == null ? 0 : ByteBuffer.wrap(meta).getLong();
            view.catalogueItems(count);
        }

        @Override
        public void process(Record<Long, Item> record) {
            Long key = record.key();
            if (key == null || key < 0) {
                skip(record, "bad key " + key);
                return;
            }
            byte[] old = store.get(key);
            Item item = record.value();
            if (item == null) {
                if (old == null) return;
                store.delete(key);
                view.textWritten(key, null);
                setCount(count - 1);
                counters.catalogueUpdates.incrementAndGet();
                return;
            }
            String error = Validation.item(key, item, view.textEmbedding());
            if (error != null) {
                skip(record, error);
                return;
            }
            float[] vector = view.textEmbedding().embed(item.getTitle(), item.getGenres());
            store.put(key, Codecs.encodeVector(vector));
            view.textWritten(key, vector);
            if (old == null) setCount(count + 1);
            counters.catalogueUpdates.incrementAndGet();
        }

        private void setCount(long n) {
            count = n;
            store.put(CatalogueView.META_KEY, ByteBuffer.allocate(8).putLong(n).array());
            view.catalogueItems(n);
        }
    }

    /** item-embeddings -> current and previous model vector per item; meta entry: version stats. */
    static final class ModelVectors implements Processor<Long, ItemEmbedding, Void, Void> {
        private final String storeName;
        private final CatalogueView view;
        private final StreamCounters counters;
        private KeyValueStore<Long, byte[]> store;
        private VersionStats stats;

        ModelVectors(String storeName, CatalogueView view, StreamCounters counters) {
            this.storeName = storeName;
            this.view = view;
            this.counters = counters;
        }

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            store = context.getStateStore(storeName);
            byte[] meta = store.get(CatalogueView.META_KEY);
            stats = view.stats(meta == null ? VersionStats.EMPTY : Codecs.decodeStats(meta));
        }

        @Override
        public void process(Record<Long, ItemEmbedding> record) {
            Long key = record.key();
            if (key == null || key < 0) {
                skip(record, "bad key " + key);
                return;
            }
            byte[] oldBytes = store.get(key);
            Codecs.ModelVectors old = oldBytes == null ? null : Codecs.decodeModel(oldBytes);
            ItemEmbedding e = record.value();
            VersionStats next;
            if (e == null) {
                if (old == null) return;
                store.delete(key);
                view.modelWritten(key, null);
                next = stats.moved(old.currentVersion(), null, record.timestamp());
            } else {
                String error = Validation.embedding(key, e);
                if (error != null) {
                    skip(record, error);
                    return;
                }
                String version = e.getModelVersion();
                float[] vector = toArray(e.getVector());
                Codecs.ModelVectors updated;
                if (old == null) {
                    updated = new Codecs.ModelVectors(version, vector, null, null);
                } else if (version.equals(old.currentVersion())) {
                    updated = new Codecs.ModelVectors(version, vector, old.previousVersion(), old.previous());
                } else if (version.equals(old.previousVersion())) {
                    // a straggler of the older version: refresh that slot, the newer one stays current
                    updated = new Codecs.ModelVectors(old.currentVersion(), old.current(), version, vector);
                } else {
                    // the item moves to a new version; its current vector becomes the previous one,
                    // which keeps users in the active version whole while the publish is under way
                    updated = new Codecs.ModelVectors(version, vector, old.currentVersion(), old.current());
                }
                store.put(key, Codecs.encodeModel(updated));
                view.modelWritten(key, updated);
                next = stats.moved(old == null ? null : old.currentVersion(), updated.currentVersion(), record.timestamp());
            }
            String activeBefore = stats.activeModelVersion();
            stats = view.stats(next);
            store.put(CatalogueView.META_KEY, Codecs.encodeStats(stats));
            if (!java.util.Objects.equals(activeBefore, stats.activeModelVersion())) {
                log.info("user embeddings move to model version {} ({} of {} catalogue items have it)",
                        stats.activeModelVersion(), stats.count(stats.activeModelVersion()), view.catalogueItems());
            }
            counters.catalogueUpdates.incrementAndGet();
        }
    }

    private static float[] toArray(List<Float> values) {
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) v[i] = values.get(i);
        return v;
    }

    private static void skip(Record<Long, ?> record, String reason) {
        log.warn("catalogue record skipped (key {}): {}", record.key(), reason);
    }
}
