package io.adaptrec.streams;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.Topic;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-user sliding history and sequence embedding (AdaptRec stage 1 input), one instance per
 * task (interactions partition).
 *
 * <p>Per interaction: validate, place the event in the user's window (in event-time order,
 * duplicates once, beyond-grace events to the dead letters), recompute the embedding in the
 * active version, store, emit {@code user-state}. Two bounded background steps run on wall-clock
 * punctuation: re-checking users whose window holds items without a vector (they are in the
 * {@code pending} store), and moving users to a new active embedding version (migration). Each
 * step touches at most a configured number of users, so neither can stall the record path.
 */
final class UserStateProcessor implements Processor<Long, Interaction, Object, Object> {
    private static final Logger log = LoggerFactory.getLogger(UserStateProcessor.class);
    private static final byte[] PRESENT = {1};

    private final UserStateConfig config;
    private final CatalogueView view;
    private final StreamCounters counters;
    private final Topic<Long, Interaction> interactions;
    private final String textStoreName;

    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, UserHistory> users;
    private KeyValueStore<Long, byte[]> pending;
    private ReadOnlyKeyValueStore<Long, byte[]> textStore;
    private ReadOnlyKeyValueStore<Long, byte[]> modelStore;

    /** Next user the pending scan looks at; null = from the start. */
    private Long pendingCursor;
    /** The version the last completed migration pass moved every user to; null = none yet. */
    private String migratedTo;
    /** Next user of the running migration pass; null = pass not started. */
    private Long migrationCursor;
    private String migrationTarget;

    UserStateProcessor(UserStateConfig config, CatalogueView view, StreamCounters counters,
                       Topic<Long, Interaction> interactions, String textStoreName) {
        this.config = config;
        this.view = view;
        this.counters = counters;
        this.interactions = interactions;
        this.textStoreName = textStoreName;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        users = context.getStateStore(UserStateTopology.USER_STORE);
        pending = context.getStateStore(UserStateTopology.PENDING_STORE);
        textStore = context.getStateStore(textStoreName);
        modelStore = context.getStateStore(UserStateTopology.ITEM_MODEL_STORE);
        // migratedTo starts null: after a restart, one pass checks every user once, which catches
        // a version switch that happened while this task was down or owned elsewhere
        context.schedule(Duration.ofMillis(config.pendingScanIntervalMs()), PunctuationType.WALL_CLOCK_TIME,
                now -> scanPending());
        context.schedule(Duration.ofMillis(config.migrationIntervalMs()), PunctuationType.WALL_CLOCK_TIME,
                now -> migrateStep());
    }

    @Override
    public void process(Record<Long, Interaction> record) {
        counters.interactions.incrementAndGet();
        Long userId = record.key();
        Interaction value = record.value();
        if (value == null) {
            if (userId == null) {
                deadLetter(record, "tombstone without a key: cannot tell which user to delete");
            } else {
                deleteUser(record, userId);
            }
            return;
        }
        String error = Validation.interaction(userId, value);
        if (error != null) {
            counters.invalid.incrementAndGet();
            deadLetter(record, error);
            return;
        }
        UserHistory stored = users.get(userId);
        UserHistory before = stored == null ? UserHistory.empty(userId) : stored;
        UserHistory.Entry entry = new UserHistory.Entry(value.getItemId(), value.getEventTime().toEpochMilli(),
                value.getRating());
        UserHistory.Insert result = before.truncate(config.historyLength())
                .insert(entry, config.historyLength(), config.graceMs());
        switch (result.outcome()) {
            case ADDED -> update(userId, stored, withEmbedding(result.history()), record);
            case DUPLICATE -> counters.duplicates.incrementAndGet();
            case BELOW_WINDOW -> counters.belowWindow.incrementAndGet();
            case LATE -> {
                counters.late.incrementAndGet();
                deadLetter(record, "late event: eventTime " + value.getEventTime() + " is more than "
                        + config.graceMs() + " ms (history.grace.ms) behind the user's newest event at "
                        + Instant.ofEpochMilli(before.newestEventTime()));
            }
        }
    }

    private void deleteUser(Record<Long, Interaction> record, long userId) {
        counters.tombstones.incrementAndGet();
        users.delete(userId);
        pending.delete(userId);
        context.forward(new Record<Long, UserHistory>(userId, null, record.timestamp(), record.headers()),
                UserStateTopology.USER_STATE_SINK);
        counters.emitted.incrementAndGet();
    }

    /** The window with its embedding recomputed in the active version. */
    private UserHistory withEmbedding(UserHistory window) {
        String version = view.activeVersion();
        SequenceEmbedding.Result r = SequenceEmbedding.compute(window.entries(),
                item -> view.vector(item, version, textStore, modelStore), config.recencyHalfLife());
        return window.withEmbedding(version, r, context.currentSystemTimeMs());
    }

    /**
     * Stores the new state, tracks whether it waits for item vectors, and emits it. The pending store
     * holds a user exactly when the stored state has missing items (only this method and
     * {@link #deleteUser} write either store, in the same transaction), so it is written only when
     * that changes: a delete per event would cost a changelog tombstone per user and commit.
     */
    private void update(long userId, UserHistory stored, UserHistory next, Record<?, ?> cause) {
        users.put(userId, next);
        boolean wasPending = stored != null && stored.missing() > 0;
        if (next.missing() > 0) {
            if (!wasPending) pending.put(userId, PRESENT);
        } else if (wasPending) {
            pending.delete(userId);
        }
        long timestamp = cause != null ? cause.timestamp() : context.currentSystemTimeMs();
        // encoded by the sink's UserStateEncoder straight from the history (no Avro record built)
        Record<Long, UserHistory> out = new Record<>(userId, next, timestamp);
        // headers travel with the record (e.g. a producer's send time, which the benchmark reads)
        if (cause != null) out = out.withHeaders(cause.headers());
        context.forward(out, UserStateTopology.USER_STATE_SINK);
        counters.emitted.incrementAndGet();
    }

    /** Re-checks up to pending.scan.batch users whose window had items without a vector. */
    private void scanPending() {
        List<Long> batch = keys(pending, pendingCursor, config.pendingScanBatch());
        pendingCursor = batch.size() < config.pendingScanBatch() ? null : batch.get(batch.size() - 1) + 1;
        for (long userId : batch) {
            UserHistory h = users.get(userId);
            if (h == null || h.missing() == 0) { // stale entry (user deleted or already complete)
                pending.delete(userId);
                continue;
            }
            if (refresh(userId, h) && h.missing() > 0) counters.pendingResolved.incrementAndGet();
        }
    }

    /** Advances a migration pass by up to migration.batch users, if one is due. */
    private void migrateStep() {
        String active = view.activeVersion();
        if (active.equals(migratedTo)) return;
        if (!active.equals(migrationTarget)) {
            migrationTarget = active;
            migrationCursor = null;
            if (migratedTo != null) log.info("task {}: moving user embeddings to version {}", context.taskId(), active);
        }
        List<KeyValue<Long, UserHistory>> batch = new ArrayList<>();
        try (KeyValueIterator<Long, UserHistory> it = migrationCursor == null ? users.all() : users.range(migrationCursor, null)) {
            while (it.hasNext() && batch.size() < config.migrationBatch()) batch.add(it.next());
        }
        for (KeyValue<Long, UserHistory> kv : batch) {
            if (!active.equals(kv.value.embeddingVersion()) && refresh(kv.key, kv.value)) {
                counters.migrated.incrementAndGet();
            }
        }
        if (batch.size() < config.migrationBatch()) {
            migratedTo = active;
            migrationCursor = null;
            migrationTarget = null;
        } else {
            migrationCursor = batch.get(batch.size() - 1).key + 1;
        }
    }

    /** Recomputes a stored user in the active version; emits only if something changed. */
    private boolean refresh(long userId, UserHistory stored) {
        UserHistory next = withEmbedding(stored.truncate(config.historyLength()));
        if (next.sameStateAs(stored)) return false;
        update(userId, stored, next, null);
        return true;
    }

    private static <V> List<Long> keys(KeyValueStore<Long, V> store, Long from, int max) {
        List<Long> out = new ArrayList<>();
        try (KeyValueIterator<Long, V> it = from == null ? store.all() : store.range(from, null)) {
            while (it.hasNext() && out.size() < max) out.add(it.next().key);
        }
        return out;
    }

    private void deadLetter(Record<Long, Interaction> record, String reason) {
        RecordMetadata md = context.recordMetadata().orElse(null);
        String topic = md == null ? interactions.name() : md.topic();
        byte[] rawKey = record.key() == null ? null
                : interactions.keySerde().serializer().serialize(topic, record.key());
        byte[] rawValue = record.value() == null ? null
                : interactions.valueSerde().serializer().serialize(topic, record.value());
        DeadLetter letter = DeadLetters.of(topic, md == null ? -1 : md.partition(), md == null ? -1 : md.offset(),
                reason, "user-state", rawKey, rawValue, context.currentSystemTimeMs());
        log.debug("dead letter {}-{}@{}: {}", topic, letter.getPartition(), letter.getOffset(), reason);
        context.forward(new Record<>(topic, letter, record.timestamp()), UserStateTopology.DEAD_LETTER_SINK);
        counters.deadLettered.incrementAndGet();
    }

    static UserState toAvro(UserHistory h) {
        List<HistoryEntry> history = new ArrayList<>(h.entries().size());
        for (UserHistory.Entry e : h.entries()) {
            history.add(new HistoryEntry(e.itemId(), Instant.ofEpochMilli(e.eventTime()), e.rating()));
        }
        float[] emb = h.embeddingUnsafe();
        List<Float> embedding = new ArrayList<>(emb.length);
        for (float f : emb) embedding.add(f);
        return new UserState(h.userId(), history, embedding, h.embeddingVersion(), Instant.ofEpochMilli(h.updatedAt()));
    }
}
