package io.adaptrec.worker.eval;

/**
 * A held-out prediction before candidates are drawn: seed-independent, so one split serves every
 * seed and every variant.
 *
 * @param history          up to {@code maxHistory} items right before the target, oldest first
 * @param target           the item to predict
 * @param interacted       every item the user ever interacted with, sorted, distinct: never a
 *                         sampled negative
 * @param seenBeforeTarget items the user interacted with before the target, sorted, distinct:
 *                         excluded from full-catalogue ranking (unless it is the target itself)
 */
public record Holdout(long userId, long[] history, long target, long targetTimeMillis, long[] interacted,
        long[] seenBeforeTarget) {}
