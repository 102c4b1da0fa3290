package io.adaptrec.flink;

/**
 * A cell's new top-N for one of its owned users, or a tombstone when the user was deleted.
 * {@code seq} is the owner's change counter at the cell that produced it: after a user changes
 * home, stale changes from its old cell carry a smaller seq and {@link PoolEmitter} drops them.
 * {@code producedAt} is when the user-state record that caused the change was produced.
 */
public record PoolChange(
    long userId, long seq, String embeddingVersion, long[] neighbourIds, float[] similarities, boolean tombstone, long producedAt) {}
