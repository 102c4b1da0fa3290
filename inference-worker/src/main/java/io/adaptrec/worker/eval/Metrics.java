package io.adaptrec.worker.eval;

/**
 * Ranking metrics with one relevant item (the target).
 *
 * <p><b>Rank rule (pessimistic):</b> rank = 1 + #candidates scoring strictly higher than the
 * target + #other candidates scoring exactly the same. A constant scorer therefore ranks every
 * target last instead of first, and ties can never be broken in the target's favour whatever the
 * candidates' order.
 *
 * <p><b>Validity:</b> an answer is valid when the recommender returned exactly one score per
 * candidate and none is NaN (infinities are valid scores). An invalid answer counts as a miss
 * (rank = none) in every metric and lowers ValidRatio.
 */
public final class Metrics {

    /** Rank of an invalid answer: outside every cut-off. */
    public static final int INVALID = Integer.MAX_VALUE;

    private Metrics() {}

    public static boolean valid(float[] scores, int candidates) {
        if (scores == null || scores.length != candidates) {
            return false;
        }
        for (float s : scores) {
            if (Float.isNaN(s)) {
                return false;
            }
        }
        return true;
    }

    /** 1-based pessimistic rank of {@code scores[targetIndex]}, or {@link #INVALID}. */
    public static int rank(float[] scores, int targetIndex, int candidates) {
        if (!valid(scores, candidates)) {
            return INVALID;
        }
        float t = scores[targetIndex];
        int rank = 1;
        for (int i = 0; i < scores.length; i++) {
            if (i != targetIndex && scores[i] >= t) {
                rank++;
            }
        }
        return rank;
    }

    public static double hit(int rank, int k) {
        return rank <= k ? 1.0 : 0.0;
    }

    /** NDCG@k with one relevant item: the ideal DCG is 1, so NDCG = 1 / log2(rank + 1) within the cut-off. */
    public static double ndcg(int rank, int k) {
        return rank <= k ? 1.0 / log2(rank + 1.0) : 0.0;
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2.0);
    }
}
