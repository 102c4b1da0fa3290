package io.adaptrec.flink;

/**
 * The job's view of one user-state record: the sequence embedding (stage 1 of AdaptRec) and the item-embedding model version it was computed in, how long
 * the history behind it is, whether the state was deleted (a tombstone), and when it was produced
 * (for freshness). {@code embedding} may be null when deleted.
 *
 * <p>{@code origin} is where the record came from (Kafka topic, partition, offset and its raw
 * bytes) so that a bad record can be dead-lettered; null for sources that have none (tests, the
 * benchmark). {@link UserStateValidator} drops it before the first shuffle. A record whose origin
 * holds an {@code error} could not be decoded at all: its other fields are meaningless.
 */
public record UserUpdate(
    long userId, float[] embedding, String embeddingVersion, int historyLength, boolean deleted, long producedAt, Origin origin)
    implements java.io.Serializable {

  /** Source coordinates and raw bytes of a record; {@code error} is non-null when it could not be decoded. */
  public record Origin(String topic, int partition, long offset, byte[] rawKey, byte[] rawValue, String error)
      implements java.io.Serializable {}

  public UserUpdate(long userId, float[] embedding, String embeddingVersion, int historyLength, boolean deleted, long producedAt) {
    this(userId, embedding, embeddingVersion, historyLength, deleted, producedAt, null);
  }

  public static UserUpdate upsert(long userId, float[] embedding, String embeddingVersion, int historyLength, long producedAt) {
    return new UserUpdate(userId, embedding, embeddingVersion, historyLength, false, producedAt, null);
  }

  public static UserUpdate delete(long userId, long producedAt) {
    return new UserUpdate(userId, null, "", 0, true, producedAt, null);
  }

  /** A record that could not be decoded; only {@link UserStateValidator} looks at it (and dead-letters it). */
  public static UserUpdate undecodable(Origin origin, long producedAt) {
    return new UserUpdate(-1L, null, "", 0, false, producedAt, origin);
  }

  public boolean isUndecodable() {
    return origin != null && origin.error() != null;
  }

  public UserUpdate withOrigin(Origin o) {
    return new UserUpdate(userId, embedding, embeddingVersion, historyLength, deleted, producedAt, o);
  }
}
