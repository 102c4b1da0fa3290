package io.adaptrec.flink;

/**
 * A user's change as seen by one cell. {@code kind}: {@link #UPSERT} (u is in the cell's universe
 * with this vector, in embedding version {@code embeddingVersion}, homed at {@code home}),
 * {@link #LEAVE} (u moved to a home outside the cell's coverage) or {@link #DELETE} (u is gone or
 * no longer eligible; its home cell emits a tombstone).
 * {@code seq} is u's per-user change counter, assigned by {@link UserRouter}.
 */
public record CellEvent(
    int cell, byte kind, long userId, float[] vector, String embeddingVersion, int home, long seq, long producedAt) {
  public static final byte UPSERT = 0;
  public static final byte LEAVE = 1;
  public static final byte DELETE = 2;
}
