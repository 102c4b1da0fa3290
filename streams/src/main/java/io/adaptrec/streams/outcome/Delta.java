package io.adaptrec.streams.outcome;

import io.adaptrec.schemas.Topics;

/**
 * What one event adds to one arm's window: a served response, an outcome, a missing or a late
 * outcome. The outcome processor (partitioned by user) emits them; they are repartitioned by arm
 * key and summed by {@link ArmAggregator}, so every window's aggregate lives in exactly one task.
 *
 * @param latencyMicros the served response's latency, or -1 when this delta serves nothing
 * @param ndcg NDCG of the next item in the returned ranking (0 when absent; see {@link #ndcg(int)})
 */
record Delta(Arm arm, int served, int errors, int outcomes, int hitsAt1, int hitsAt5, double ndcg,
             long latencyMicros, int late, int missing) {

    /** Where a response's counts go: experiment, arm, the adapter it served, its metrics window. */
    record Arm(String experimentId, String arm, String adapterVersion, long windowStart) {
        String key() {
            return Topics.armKey(experimentId, arm);
        }
    }

    static Delta served(Arm arm, boolean failed, long latencyMicros) {
        return new Delta(arm, 1, failed ? 1 : 0, 0, 0, 0, 0, latencyMicros, 0, 0);
    }

    /** The outcome of a response whose user next chose an item at {@code rank} (1 = first; 0 = not in the list). */
    static Delta outcome(Arm arm, int rank) {
        return new Delta(arm, 0, 0, 1, rank == 1 ? 1 : 0, rank >= 1 && rank <= 5 ? 1 : 0, ndcg(rank), -1, 0, 0);
    }

    static Delta missing(Arm arm) {
        return new Delta(arm, 0, 0, 0, 0, 0, 0, -1, 0, 1);
    }

    static Delta late(Arm arm) {
        return new Delta(arm, 0, 0, 0, 0, 0, 0, -1, 1, 0);
    }

    /** 1-based position of {@code item} in {@code ranked} (best first), 0 when absent. */
    static int rankOf(long[] ranked, long item) {
        for (int i = 0; i < ranked.length; i++) {
            if (ranked[i] == item) return i + 1;
        }
        return 0;
    }

    /**
     * NDCG with one relevant item: DCG = 1 / log2(rank + 1) and the ideal DCG (the item first) is 1,
     * so NDCG = 1 / log2(rank + 1); 0 when the item is not in the ranking.
     */
    static double ndcg(int rank) {
        return rank < 1 ? 0 : Math.log(2) / Math.log(rank + 1.0);
    }
}
