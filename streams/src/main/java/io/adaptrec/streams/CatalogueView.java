package io.adaptrec.streams;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * What user tasks need to know about the catalogue, shared between the global thread (which
 * writes the item stores) and the stream threads (which read them once per window item per
 * interaction): bounded caches of decoded item vectors in front of the two global RocksDB stores,
 * and the version statistics that decide which space user embeddings live in.
 *
 * <p>One instance per built topology. It holds only data derived from the global stores, which
 * are rebuilt by reprocessing their topics (Kafka Streams 3.8+ replays {@code addGlobalStore}
 * records through the processor on restore), so losing it on restart loses nothing.
 */
final class CatalogueView {
    /** Reserved key for the meta entry in both global stores; item ids are validated to be >= 0. */
    static final long META_KEY = -1L;

    private final TextEmbedding text;
    private final double switchCoverage;
    private final VectorCache<float[]> textCache;
    private final VectorCache<Codecs.ModelVectors> modelCache;
    private volatile VersionStats stats = VersionStats.EMPTY;
    private volatile long catalogueItems;

    CatalogueView(TextEmbedding text, double switchCoverage, int cacheEntries) {
        this.text = text;
        this.switchCoverage = switchCoverage;
        this.textCache = new VectorCache<>(cacheEntries);
        this.modelCache = new VectorCache<>(cacheEntries);
    }

    TextEmbedding textEmbedding() { return text; }

    /** The space user embeddings are computed in now. */
    String activeVersion() {
        String model = stats.activeModelVersion();
        return model != null ? model : text.version();
    }

    VersionStats stats() { return stats; }

    long catalogueItems() { return catalogueItems; }

    /**
     * The item's vector in {@code version}, or null when it has none there (unknown item, not
     * yet published by that model, or a deleted item).
     */
    float[] vector(long itemId, String version, ReadOnlyKeyValueStore<Long, byte[]> textStore,
                   ReadOnlyKeyValueStore<Long, byte[]> modelStore) {
        if (version.equals(text.version())) {
            return textCache.get(itemId, id -> {
                byte[] b = textStore.get(id);
                return b == null ? null : Codecs.decodeVector(b);
            });
        }
        Codecs.ModelVectors m = modelCache.get(itemId, id -> {
            byte[] b = modelStore.get(id);
            return b == null ? null : Codecs.decodeModel(b);
        });
        return m == null ? null : m.in(version);
    }

    // ---- called by the global processors, after they wrote the store ----

    void textWritten(long itemId, float[] vector) { textCache.written(itemId, vector); }

    void modelWritten(long itemId, Codecs.ModelVectors vectors) { modelCache.written(itemId, vectors); }

    void catalogueItems(long n) {
        catalogueItems = n;
        stats = stats.withActiveFor(n, switchCoverage);
    }

    /** @return the stats after applying the switch rule (to be persisted by the caller) */
    VersionStats stats(VersionStats next) {
        VersionStats applied = next.withActiveFor(catalogueItems, switchCoverage);
        stats = applied;
        return applied;
    }

    /**
     * A bounded LRU cache that never keeps a value older than the store. Readers load outside the
     * lock and cache the value only if no writer touched the cache meanwhile (a write-counter
     * check, like a seqlock): otherwise a reader that read the store just before a global update
     * could re-insert the old vector after the writer's fresh one had been evicted.
     */
    static final class VectorCache<V> {
        private static final Object ABSENT = new Object();
        private final AtomicLong writes = new AtomicLong();
        private final int maxEntries;
        private final LinkedHashMap<Long, Object> map;

        VectorCache(int maxEntries) {
            this.maxEntries = maxEntries;
            this.map = new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, Object> eldest) {
                    return size() > VectorCache.this.maxEntries;
                }
            };
        }

        @SuppressWarnings("unchecked")
        V get(long key, LongFunction<V> loader) {
            if (maxEntries > 0) {
                synchronized (this) {
                    Object v = map.get(key);
                    if (v != null) return v == ABSENT ? null : (V) v;
                }
            }
            long seen = writes.get();
            V loaded = loader.apply(key);
            if (maxEntries > 0) {
                synchronized (this) {
                    if (writes.get() == seen) map.putIfAbsent(key, loaded == null ? ABSENT : loaded);
                }
            }
            return loaded;
        }

        void written(long key, V value) {
            writes.incrementAndGet();
            if (maxEntries > 0) {
                synchronized (this) {
                    map.put(key, value == null ? ABSENT : value);
                }
            }
        }

        synchronized int size() { return map.size(); }
    }
}
