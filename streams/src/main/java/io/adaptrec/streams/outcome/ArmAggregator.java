package io.adaptrec.streams.outcome;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.StreamCounters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Sums {@link Delta}s into one running aggregate per (experiment, arm, metrics window), one task
 * per partition of the arm-keyed repartition topic, and publishes every window that changed since
 * the last punctuation as its full aggregate ({@code outcome.emit.interval.ms}, wall clock).
 *
 * <p>Which windows changed is kept in a logged store, not in memory: under exactly-once a change
 * and its publication are in different transactions, and a window changed just before a crash must
 * still be published after the restore. Windows are deleted {@code outcome.metrics.retention.ms}
 * after their end; a delta for a deleted window is counted and dropped, because a fresh aggregate
 * holding only that delta would supersede the full one the consumers hold.
 */
final class ArmAggregator implements Processor<String, Delta, String, ArmMetrics> {
    private static final byte[] CHANGED = {};

    private final OutcomeConfig config;
    private final StreamCounters counters;
    private ProcessorContext<String, ArmMetrics> context;
    private KeyValueStore<Bytes, ArmWindow> windows;
    private KeyValueStore<Bytes, byte[]> changed;
    private long nextPurge;

    ArmAggregator(OutcomeConfig config, StreamCounters counters) {
        this.config = config;
        this.counters = counters;
    }

    @Override
    public void init(ProcessorContext<String, ArmMetrics> context) {
        this.context = context;
        windows = context.getStateStore(OutcomeTopology.METRICS_STORE);
        changed = context.getStateStore(OutcomeTopology.CHANGED_STORE);
        context.schedule(Duration.ofMillis(config.emitIntervalMs()), PunctuationType.WALL_CLOCK_TIME, this::emit);
    }

    @Override
    public void process(Record<String, Delta> record) {
        Delta d = record.value();
        if (d == null) return;
        if (retentionPassed(d.arm().windowStart(), context.currentSystemTimeMs())) {
            counters.outcomeExpiredWindowUpdates.incrementAndGet();
            return;
        }
        Bytes key = OutcomeCodecs.windowKey(d.arm().windowStart(), d.arm().key());
        ArmWindow w = windows.get(key);
        if (w == null) w = ArmWindow.empty(d.arm(), config.metricsWindowMs());
        w.add(d);
        windows.put(key, w);
        changed.put(key, CHANGED);
    }

    private void emit(long now) {
        List<Bytes> keys = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = changed.all()) {
            while (it.hasNext()) keys.add(it.next().key);
        }
        for (Bytes key : keys) {
            ArmWindow w = windows.get(key);
            if (w != null) {
                context.forward(new Record<>(Topics.armKey(w.experimentId, w.arm), w.toAvro(now), now));
                counters.armMetricsEmitted.incrementAndGet();
            }
            changed.delete(key);
        }
        if (now >= nextPurge) {
            purge(now);
            nextPurge = now + config.metricsWindowMs();
        }
    }

    /** Deletes windows past their retention; they were published above if they had changed. */
    private void purge(long now) {
        long firstKept = now - config.retentionMs() - config.metricsWindowMs() + 1;
        if (firstKept <= 0) return; // keys are big-endian: a negative bound would sort after every window
        List<Bytes> old = new ArrayList<>();
        try (KeyValueIterator<Bytes, ArmWindow> it = windows.range(null, OutcomeCodecs.firstWindowKey(firstKept))) {
            while (it.hasNext()) {
                Bytes k = it.next().key;
                if (!k.equals(OutcomeCodecs.firstWindowKey(firstKept))) old.add(k);
            }
        }
        for (Bytes k : old) windows.delete(k);
    }

    private boolean retentionPassed(long windowStart, long now) {
        return windowStart + config.metricsWindowMs() + config.retentionMs() < now;
    }
}
