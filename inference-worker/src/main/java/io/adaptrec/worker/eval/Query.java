package io.adaptrec.worker.eval;

/**
 * One ranking question put to a recommender: "given this user's history, order these candidates".
 * The target is deliberately absent, so a recommender cannot peek at the answer.
 *
 * @param userId     the user (may be unseen in training, e.g. llara test users)
 * @param history    the user's most recent items before the target, oldest first
 * @param candidates the candidate item ids to score (20 in both protocols)
 * @param asOfMillis the query's moment (the target's event time): a time-safe recommender uses no
 *                   other user's interaction from this moment on; {@link Long#MAX_VALUE} for none
 */
public record Query(long userId, long[] history, long[] candidates, long asOfMillis) {

    /** A query without a moment (nothing is cut). */
    public Query(long userId, long[] history, long[] candidates) {
        this(userId, history, candidates, Long.MAX_VALUE);
    }
}
