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
    public final AtomicLong undeserializableSkipped = new AtomicLong();
    /** Records not decodable only because the registry was unavailable: retried, not dead-lettered. */
    public final AtomicLong registryUnavailable = new AtomicLong();

    // outcome application (io.adaptrec.streams.outcome.OutcomeTopology)
    public final AtomicLong outcomeResponses = new AtomicLong();
    public final AtomicLong outcomeInteractions = new AtomicLong();
    public final AtomicLong outcomesJoined = new AtomicLong();
    public final AtomicLong outcomesMissing = new AtomicLong();
    public final AtomicLong outcomesLate = new AtomicLong();
    /** Pending responses replaced by a newer awaited response of the same user (not outcomes, not missing). */
    public final AtomicLong outcomesSuperseded = new AtomicLong();
    /** Joined outcomes beyond outcome.max-per-user for their user in their experiment (not counted). */
    public final AtomicLong outcomesCapped = new AtomicLong();
    /** Interactions of users with no pending or recently expired response (organic traffic). */
    public final AtomicLong outcomeUnmatchedInteractions = new AtomicLong();
    /** Interaction tombstones and invalid interactions (the user-state application dead-letters those). */
    public final AtomicLong outcomeSkippedInteractions = new AtomicLong();
    /** Updates for a window past outcome.metrics.retention.ms (dropped: a fresh partial would supersede the full aggregate). */
    public final AtomicLong outcomeExpiredWindowUpdates = new AtomicLong();
    public final AtomicLong armMetricsEmitted = new AtomicLong();

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
        m.put("registry_unavailable", registryUnavailable.get());
        m.put("dead_lettered", deadLettered.get());
        m.put("pending_resolved", pendingResolved.get());
        m.put("migrated", migrated.get());
        m.put("catalogue_updates", catalogueUpdates.get());
        m.put("undeserializable_skipped", undeserializableSkipped.get());
        m.put("outcome_responses", outcomeResponses.get());
        m.put("outcome_interactions", outcomeInteractions.get());
        m.put("outcomes_joined", outcomesJoined.get());
        m.put("outcomes_missing", outcomesMissing.get());
        m.put("outcomes_late", outcomesLate.get());
        m.put("outcomes_superseded", outcomesSuperseded.get());
        m.put("outcomes_capped", outcomesCapped.get());
        m.put("outcome_unmatched_interactions", outcomeUnmatchedInteractions.get());
        m.put("outcome_skipped_interactions", outcomeSkippedInteractions.get());
        m.put("outcome_expired_window_updates", outcomeExpiredWindowUpdates.get());
        m.put("arm_metrics_emitted", armMetricsEmitted.get());
        return m;
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }
}
