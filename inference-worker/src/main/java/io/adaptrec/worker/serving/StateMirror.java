package io.adaptrec.worker.serving;

import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.schemas.RegistryBackoff;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's local copy of everything a request reads, so that serving needs no remote call:
 * every partition of {@code user-state} (pool members live on any partition) and {@code user-pools},
 * plus {@code interactions} (the per-user seen set beyond the 20-item window, and popularity
 * lately) and {@code items} (titles of items the model was not trained on).
 *
 * <p>One consumer thread assigns every partition (no group: each worker needs the whole
 * population) with {@code read_committed}, and writes into concurrent maps that serving threads
 * read. {@link #ready()} becomes true once the consumer has reached the end offsets taken at
 * start on every partition, so a worker never answers from a half-loaded mirror.
 *
 * <p>Memory: per-user state lives in a {@link UserStore}: on the heap ({@code serving.state.store=memory},
 * about 1 KB per ML-100K-like user: a history of L entries, a pool of N, a seen set of 16 bytes per
 * distinct item) or on local disk ({@code rocksdb}, bounded memory for populations beyond the heap).
 *
 * <p>Tombstones on {@code user-state} delete the user's history and seen set here (their pool goes
 * with the pools job's tombstone on {@code user-pools}), and {@link LiveNeighbourhood} drops
 * members that have no state, so a deleted user disappears from every pool the worker reads; a
 * request for them is a cold start.
 */
public final class StateMirror implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StateMirror.class);
    /** Header the pools job puts on every pool record: the per-user pool version (8-byte long). */
    static final String HEADER_POOL_VERSION = "adaptrec.pool.version";
    /** Header the pools job puts on every pool record: when its source user-state change was produced (epoch ms, text). */
    static final String HEADER_SOURCE_PRODUCED_AT = "adaptrec.source-produced-at";

    /** Which freshness a {@link #freshness} histogram measures. */
    public enum Freshness {
        /** Interaction sent → the user's new history applied here (every later response reflects it). */
        USER_STATE,
        /** Interaction sent → a pool recomputed from it applied here. */
        POOL
    }

    /** A user's sliding history as of the latest {@code user-state}: items and event times, oldest first. */
    public record History(long[] items, long[] times, String embeddingVersion) {

        /** The items strictly before {@code asOfMillis}. */
        public long[] itemsBefore(long asOfMillis) {
            if (asOfMillis == Long.MAX_VALUE) {
                return items;
            }
            int n = 0;
            while (n < times.length && times[n] < asOfMillis) {
                n++;
            }
            return n == items.length ? items : Arrays.copyOf(items, n);
        }
    }

    /** A user's pool as the pools job last wrote it. */
    public record Pool(long[] members, float[] similarities, String embeddingVersion, long version) {}

    private final UserStore users;
    private final RecentUsers recent = new RecentUsers(100_000);
    private final Map<Long, Item> items = new ConcurrentHashMap<>();
    private final Popularity popularity;
    private final Topics topics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean ready = new AtomicBoolean(false);
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong undecodable = new AtomicLong();
    private final RegistryBackoff registryBackoff = RegistryBackoff.standard("state mirror");
    private final AtomicLong lag = new AtomicLong(-1);
    private final Map<Freshness, LatencyHistogram> freshness = new ConcurrentHashMap<>(Map.of(
            Freshness.USER_STATE, new LatencyHistogram(), Freshness.POOL, new LatencyHistogram()));
    private volatile Throwable failure;
    private volatile InteractionListener listener;

    /** Told about every interaction the mirror reads, in topic order (per user: in the order they happened). */
    @FunctionalInterface
    public interface InteractionListener {
        /**
         * Runs on the mirror's thread after the interaction is applied; must be quick.
         *
         * @param live true once the mirror caught up (new traffic, not the past it replays at start)
         */
        void interaction(Interaction i, boolean live);
    }

    /** Sets the listener of interactions (the trainer collects its examples here); call before {@link #start}. */
    public StateMirror onLiveInteraction(InteractionListener l) {
        this.listener = l;
        return this;
    }

    /**
     * @param consumerProps bootstrap servers and any client settings (security); group and
     *                      deserializer settings are the mirror's own
     */
    public StateMirror(Topics topics, Properties consumerProps, double popularityHalfLifeMillis, UserStore users) {
        this.topics = topics;
        this.users = users;
        this.popularity = new Popularity(popularityHalfLifeMillis);
        Properties p = TopicScan.readerProperties(consumerProps);
        p.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
        this.consumer = new KafkaConsumer<>(p);
        this.thread = new Thread(this::run, "state-mirror");
        thread.setDaemon(true);
    }

    public StateMirror start() {
        thread.start();
        return this;
    }

    private void run() {
        try {
            Map<TopicPartition, Long> end = TopicScan.assignAllFromStart(consumer, List.of(topics.items().name(),
                    topics.userState().name(), topics.userPools().name(), topics.interactions().name()),
                    Duration.ofSeconds(30));
            List<TopicPartition> parts = List.copyOf(end.keySet());
            log.info("state mirror: catching up on {} partitions ({} records)", parts.size(),
                    end.values().stream().mapToLong(Long::longValue).sum());
            while (running.get()) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(50));
                if (!registryBackoff.applyAll(consumer, batch, this::apply)) {
                    continue;   // the registry could not be asked: rewound, waited, read again
                }
                records.addAndGet(batch.count());
                if (!ready.get()) {
                    boolean caughtUp = true;
                    long behind = 0;
                    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                        long pos = consumer.position(e.getKey());
                        behind += Math.max(0, e.getValue() - pos);
                        caughtUp &= pos >= e.getValue();
                    }
                    lag.set(behind);
                    if (caughtUp) {
                        ready.set(true);
                        log.info("state mirror ready: {} users, {} pools, {} items beyond the model, {} records",
                                users.users(), users.pools(), items.size(), records.get());
                    }
                } else if (!batch.isEmpty()) {
                    updateLag(parts);
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                failure = e;
            }
        } catch (Throwable e) {
            failure = e;
            log.error("state mirror stopped", e);
        } finally {
            if (running.get() && failure == null) {
                failure = new IllegalStateException("state mirror ended unexpectedly");
            }
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void updateLag(List<TopicPartition> parts) {
        long behind = 0;
        for (TopicPartition tp : parts) {
            var l = consumer.currentLag(tp);
            if (l.isPresent()) {
                behind += l.getAsLong();
            }
        }
        lag.set(behind);
    }

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        String t = r.topic();
        try {
            if (t.equals(topics.userState().name())) {
                long user = topics.userState().keySerde().deserializer().deserialize(t, r.key());
                if (r.value() == null) {
                    users.removeUser(user);
                    return;
                }
                UserState s = topics.userState().valueSerde().deserializer().deserialize(t, r.value());
                List<HistoryEntry> h = s.getHistory();
                long[] it = new long[h.size()];
                long[] ts = new long[h.size()];
                for (int i = 0; i < it.length; i++) {
                    it[i] = h.get(i).getItemId();
                    ts[i] = h.get(i).getEventTime().toEpochMilli();
                }
                users.putHistory(user, new History(it, ts, s.getEmbeddingVersion()));
                recent.touch(user);
                // Streams keeps the interaction's record timestamp (the producer's send time) on the state it causes
                fresh(Freshness.USER_STATE, r.timestamp());
            } else if (t.equals(topics.userPools().name())) {
                long user = topics.userPools().keySerde().deserializer().deserialize(t, r.key());
                if (r.value() == null) {
                    users.removePool(user);
                    return;
                }
                SimilarUserPool p = topics.userPools().valueSerde().deserializer().deserialize(t, r.value());
                List<Neighbour> ns = p.getNeighbours();
                long[] ids = new long[ns.size()];
                float[] sims = new float[ns.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = ns.get(i).getUserId();
                    sims[i] = ns.get(i).getSimilarity();
                }
                users.putPool(user, new Pool(ids, sims, p.getVersion(), poolVersion(p, r)));
                Header produced = r.headers().lastHeader(HEADER_SOURCE_PRODUCED_AT);
                if (produced != null) {
                    fresh(Freshness.POOL, Long.parseLong(new String(produced.value(), java.nio.charset.StandardCharsets.UTF_8)));
                }
            } else if (t.equals(topics.interactions().name())) {
                if (r.value() == null) {
                    return;
                }
                Interaction i = topics.interactions().valueSerde().deserializer().deserialize(t, r.value());
                long at = i.getEventTime().toEpochMilli();
                users.addSeen(i.getUserId(), i.getItemId(), at);
                popularity.add(i.getItemId(), at);
                InteractionListener l = listener;
                if (l != null) {
                    l.interaction(i, ready.get());
                }
            } else if (r.value() != null) {
                Item item = topics.items().valueSerde().deserializer().deserialize(t, r.value());
                items.put(item.getItemId(), item);
            }
        } catch (RuntimeException e) {
            if (RegistryUnavailableException.in(e)) {
                throw e;   // not a bad record: read again once the registry answers
            }
            // The roles that own these topics dead-letter bad records; here they are counted and skipped.
            if (undecodable.incrementAndGet() <= 5) {
                log.warn("state mirror: skipping undecodable record {}-{}@{}: {}", t, r.partition(), r.offset(),
                        e.getMessage());
            }
        }
    }

    /** Once caught up (live records only, not the backlog read at start): now minus the source interaction's send time. */
    private void fresh(Freshness f, long sentAtMillis) {
        if (!ready.get() || sentAtMillis <= 0) {
            return;
        }
        long micros = Math.max(0, System.currentTimeMillis() - sentAtMillis) * 1000;
        LatencyHistogram h = freshness.get(f);
        synchronized (h) {
            h.record(micros);
        }
    }

    /**
     * A copy of the freshness histogram {@code f} (microseconds) over the records applied since the
     * mirror caught up: how long after an interaction was sent this worker could serve from it.
     * Valid when producers stamp records with their send time (Kafka's default CreateTime).
     */
    public LatencyHistogram freshness(Freshness f) {
        LatencyHistogram h = freshness.get(f);
        synchronized (h) {
            return new LatencyHistogram().add(h);
        }
    }

    /**
     * Starts the freshness histograms afresh, e.g. after a bulk load whose backlog would otherwise
     * dominate them (the mirror is "caught up" as soon as it reaches the offsets it found at start).
     */
    public void resetFreshness() {
        freshness.replaceAll((f, h) -> new LatencyHistogram());
    }

    private static long poolVersion(SimilarUserPool p, ConsumerRecord<byte[], byte[]> r) {
        if (p.getPoolVersion() > 0) {
            return p.getPoolVersion();
        }
        Header h = r.headers().lastHeader(HEADER_POOL_VERSION);
        return h != null && h.value().length == 8 ? ByteBuffer.wrap(h.value()).getLong() : 0;
    }

    public boolean ready() {
        return ready.get() && failure == null;
    }

    /** Why the mirror stopped, or null while it runs. */
    public Throwable failure() {
        return failure;
    }

    /** Records not yet read, summed over partitions (-1 before the first measurement). */
    public long lag() {
        return lag.get();
    }

    /** Records of the mirrored topics that could not be decoded (skipped; their owners dead-letter them). */
    public long undecodable() {
        return undecodable.get();
    }

    public History history(long user) {
        return users.history(user);
    }

    public Pool pool(long user) {
        return users.pool(user);
    }

    public int users() {
        return users.users();
    }

    /** An item that reached {@code items}, or null. */
    public Item item(long itemId) {
        return items.get(itemId);
    }

    /** Whether {@code user} interacted with {@code item} strictly before {@code asOfMillis}. */
    public boolean seen(long user, long item, long asOfMillis) {
        return users.seenBefore(user, item, asOfMillis);
    }

    /** Calls {@code out} with up to {@code n} items, most popular lately first. */
    public void popular(int n, Consumer<Long> out) {
        popularity.top(n, out);
    }

    /** Up to {@code n} users whose state changed most recently, most recent first. */
    public List<Long> recentlyActive(int n) {
        return recent.latest(n);
    }

    /** Blocks until {@link #ready()} or the timeout; true when ready. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return Await.until(this::ready, () -> failure, timeout, "state mirror");
    }

    @Override
    public void close() {
        running.set(false);
        consumer.wakeup();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        users.close();   // after the writer stopped; the worker stops serving before it closes the mirror
    }

    /** The users whose state changed last, bounded: an access-ordered map used as a recency list. */
    static final class RecentUsers {
        private final int capacity;
        private final java.util.LinkedHashMap<Long, Boolean> order;

        RecentUsers(int capacity) {
            this.capacity = capacity;
            this.order = new java.util.LinkedHashMap<>(1024, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                    return size() > RecentUsers.this.capacity;
                }
            };
        }

        synchronized void touch(long user) {
            order.put(user, Boolean.TRUE);
        }

        synchronized List<Long> latest(int n) {
            List<Long> all = new ArrayList<>(order.keySet());
            java.util.Collections.reverse(all);
            return all.subList(0, Math.min(n, all.size()));
        }
    }

    /**
     * Exponentially time-decayed interaction counts in event time: score = sum of
     * 0.5^((t_latest - t_event) / halfLife). Kept relative to a moving reference time so the numbers
     * stay finite; the top list is recomputed at most every 200 ms of wall time.
     */
    static final class Popularity {
        private final double halfLife;
        private final Map<Long, double[]> scores = new HashMap<>();
        private long reference = Long.MIN_VALUE;
        private long[] top = new long[0];
        private long topAt;
        private boolean dirty;

        Popularity(double halfLifeMillis) {
            this.halfLife = halfLifeMillis;
        }

        synchronized void add(long item, long at) {
            if (reference == Long.MIN_VALUE) {
                reference = at;
            }
            double w = Math.pow(2, (at - reference) / halfLife);
            if (w > 1e12) {   // rebase: scale every score down to the new reference
                double f = 1 / w;
                scores.values().forEach(s -> s[0] *= f);
                reference = at;
                w = 1;
            }
            scores.computeIfAbsent(item, k -> new double[1])[0] += w;
            dirty = true;
        }

        synchronized void top(int n, Consumer<Long> out) {
            long now = System.nanoTime();
            if (dirty && (now - topAt > 200_000_000L || top.length < n)) {
                top = scores.entrySet().stream()
                        .sorted((a, b) -> a.getValue()[0] != b.getValue()[0]
                                ? Double.compare(b.getValue()[0], a.getValue()[0]) : Long.compare(a.getKey(), b.getKey()))
                        .limit(Math.max(n, 500)).mapToLong(Map.Entry::getKey).toArray();
                topAt = now;
                dirty = false;
            }
            for (int i = 0; i < Math.min(n, top.length); i++) {
                out.accept(top[i]);
            }
        }
    }
}
