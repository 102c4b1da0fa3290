package io.adaptrec.streams;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts of what the topology did with its input, shared by every task of one application
 * instance (stream threads and the global thread); served as JSON on {@code /metrics} and
 * logged on shutdown. Counts restart from zero with the process: they describe this run.
 */
public final class StreamCounters {
    public final AtomicLong interactions = new AtomicLong();
    public final AtomicLong emitted = new AtomicLong();
    public final AtomicLong duplicates = new AtomicLong();
    public final AtomicLong late = new AtomicLong();
    public final AtomicLong belowWindow = new AtomicLong();
    public final AtomicLong tombstones = new AtomicLong();
    public final AtomicLong invalid = new AtomicLong();
    public final AtomicLong undeserializable = new AtomicLong();
    public final AtomicLong deadLettered = new AtomicLong();
    public final AtomicLong pendingResolved = new AtomicLong();
    public final AtomicLong migrated = new AtomicLong();
    public final AtomicLong catalogueUpdates = new AtomicLong();

    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("interactions", interactions.get());
        m.put("user_state_emitted", emitted.get());
        m.put("duplicates", duplicates.get());
        m.put("late_beyond_grace", late.get());
        m.put("older_than_window", belowWindow.get());
        m.put("tombstones", tombstones.get());
        m.put("invalid", invalid.get());
        m.put("undeserializable", undeserializable.get());
        m.put("dead_lettered", deadLettered.get());
        m.put("pending_resolved", pendingResolved.get());
        m.put("migrated", migrated.get());
        m.put("catalogue_updates", catalogueUpdates.get());
        return m;
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }
}
