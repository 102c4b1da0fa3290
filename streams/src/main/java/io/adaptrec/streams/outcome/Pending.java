package io.adaptrec.streams.outcome;

/**
 * The one response of a user that waits for (or recently stopped waiting for) its outcome.
 *
 * @param items the ranking as served, best first
 * @param expired false: waiting until {@code dueAt} (the outcome deadline); true: the deadline passed
 *     without an interaction (counted missing) and an interaction until {@code dueAt} counts late
 * @param dueAt when this state ends; also the time part of its key in the deadline index
 */
record Pending(Delta.Arm arm, long[] items, boolean expired, long dueAt) {

    /** The same response after its deadline: remembered for one more outcome window. */
    Pending expire(long windowMs) {
        return new Pending(arm, items, true, dueAt + windowMs);
    }
}
