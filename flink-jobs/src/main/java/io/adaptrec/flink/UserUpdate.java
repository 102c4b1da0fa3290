package io.adaptrec.flink;

/**
 * The job's view of one user-state record: the sequence embedding (stage 1 of AdaptRec) and the item-embedding model version it was computed in, how long
 * the history behind it is, whether the state was deleted (a tombstone), and when it was produced
 * (for freshness). {@code embedding} may be null when deleted.
 */
public record UserUpdate(
    long userId, float[] embedding, String embeddingVersion, int historyLength, boolean deleted, long producedAt)
    implements java.io.Serializable {

  public static UserUpdate upsert(long userId, float[] embedding, String embeddingVersion, int historyLength, long producedAt) {
    return new UserUpdate(userId, embedding, embeddingVersion, historyLength, false, producedAt);
  }

  public static UserUpdate delete(long userId, long producedAt) {
    return new UserUpdate(userId, null, "", 0, true, producedAt);
  }
}
