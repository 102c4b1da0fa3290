package io.adaptrec.streams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One user's sliding history (the most recent {@code capacity} interactions, ordered by event
 * time) plus the sequence embedding last computed from it. Immutable: every change returns a new
 * value, so the processor can compare before/after and emit only on a real change.
 *
 * <p>Order is (eventTime, itemId) ascending, oldest first. The item id breaks ties so that the
 * window's content depends only on which events arrived (within the grace), never on the order
 * in which two same-millisecond events happened to be read; that is what makes a restarted run
 * equal a from-scratch run.
 */
public final class UserHistory {

    /** One interaction in the window; {@code rating} is null when the event carried none. */
    public record Entry(long itemId, long eventTime, Float rating) {
        int compareOrder(long otherTime, long otherItem) {
            int byTime = Long.compare(eventTime, otherTime);
            return byTime != 0 ? byTime : Long.compare(itemId, otherItem);
        }
    }

    /** What {@link #insert} did with an event. */
    public enum Outcome {
        /** placed in the window (possibly evicting the oldest entry) */
        ADDED,
        /** same (item, eventTime) already in the window: counted once */
        DUPLICATE,
        /** older than the newest event minus the grace: rejected, routed to the dead letters */
        LATE,
        /** within the grace but older than everything in a full window: it would be evicted at once */
        BELOW_WINDOW
    }

    public record Insert(Outcome outcome, UserHistory history) {}

    private final long userId;
    private final List<Entry> entries;
    private final String embeddingVersion;
    private final float[] embedding;
    private final int missing;
    private final long updatedAt;

    UserHistory(long userId, List<Entry> entries, String embeddingVersion, float[] embedding,
                int missing, long updatedAt) {
        this.userId = userId;
        this.entries = Collections.unmodifiableList(entries);
        this.embeddingVersion = embeddingVersion;
        this.embedding = Objects.requireNonNull(embedding);
        this.missing = missing;
        this.updatedAt = updatedAt;
    }

    public static UserHistory empty(long userId) {
        return new UserHistory(userId, List.of(), null, new float[0], 0, 0L);
    }

    public long userId() { return userId; }
    /** Oldest first. */
    public List<Entry> entries() { return entries; }
    /** The vector space of {@link #embedding()}; null before the first computation. */
    public String embeddingVersion() { return embeddingVersion; }
    /** L2-normalised sequence embedding; empty while no item of the window has a vector. */
    public float[] embedding() { return embedding.clone(); }
    float[] embeddingUnsafe() { return embedding; }
    /** How many window items are not in the mean (unknown item, or no vector in the version). */
    public int missing() { return missing; }
    public long updatedAt() { return updatedAt; }

    public long newestEventTime() {
        return entries.isEmpty() ? Long.MIN_VALUE : entries.get(entries.size() - 1).eventTime();
    }

    /**
     * Places {@code e} in event-time order. Late events within {@code graceMs} of the newest one
     * are inserted where they belong rather than appended; older ones are rejected as LATE.
     */
    public Insert insert(Entry e, int capacity, long graceMs) {
        if (!entries.isEmpty()) {
            long newest = newestEventTime();
            // subtractExact would throw on pathological times; saturate instead
            long horizon = newest - graceMs > newest ? Long.MIN_VALUE : newest - graceMs;
            if (e.eventTime() < horizon) return new Insert(Outcome.LATE, this);
        }
        int pos = position(e.eventTime(), e.itemId());
        if (pos < entries.size() && entries.get(pos).eventTime() == e.eventTime()
                && entries.get(pos).itemId() == e.itemId()) {
            return new Insert(Outcome.DUPLICATE, this);
        }
        if (entries.size() >= capacity && pos == 0) return new Insert(Outcome.BELOW_WINDOW, this);
        List<Entry> next = new ArrayList<>(Math.min(entries.size() + 1, capacity));
        next.addAll(entries);
        next.add(pos, e);
        while (next.size() > capacity) next.remove(0);
        return new Insert(Outcome.ADDED,
                new UserHistory(userId, next, embeddingVersion, embedding, missing, updatedAt));
    }

    /** Shrinks the window when the configured length was lowered since this value was stored. */
    public UserHistory truncate(int capacity) {
        if (entries.size() <= capacity) return this;
        return new UserHistory(userId, new ArrayList<>(entries.subList(entries.size() - capacity, entries.size())),
                embeddingVersion, embedding, missing, updatedAt);
    }

    public UserHistory withEmbedding(String version, SequenceEmbedding.Result result, long at) {
        return new UserHistory(userId, new ArrayList<>(entries), version, result.embedding(), result.missing(), at);
    }

    /** Same window and same embedding (bit for bit) in the same version. */
    public boolean sameStateAs(UserHistory other) {
        return other != null && userId == other.userId && missing == other.missing
                && entries.equals(other.entries) && Objects.equals(embeddingVersion, other.embeddingVersion)
                && Arrays.equals(embedding, other.embedding);
    }

    /** First index whose entry is not before (time, item): binary search over the sorted window. */
    private int position(long time, long item) {
        int lo = 0, hi = entries.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (entries.get(mid).compareOrder(time, item) < 0) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    @Override
    public String toString() {
        return "UserHistory{user=" + userId + ", entries=" + entries + ", version=" + embeddingVersion
                + ", dim=" + embedding.length + ", missing=" + missing + '}';
    }
}
