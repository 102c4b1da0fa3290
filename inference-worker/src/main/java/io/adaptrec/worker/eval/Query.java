package io.adaptrec.worker.eval;

/**
 * One ranking question put to a recommender: "given this user's history, order these candidates".
 * The target is deliberately absent, so a recommender cannot peek at the answer.
 *
 * @param userId     the user (may be unseen in training, e.g. llara test users)
 * @param history    the user's most recent items before the target, oldest first
 * @param candidates the candidate item ids to score (20 in both protocols)
 */
public record Query(long userId, long[] history, long[] candidates) {}
