package io.adaptrec.flink;

/**
 * One emitted similar-user pool: the user's Top-N neighbours best first, the embedding version of
 * the user's own embedding (every neighbour's embedding is in the same version; Avro
 * {@code version}), a version that rises by one per emitted change of this user's pool (so a
 * consumer can detect loss or duplication; Avro {@code poolVersion} and the
 * {@link KafkaIo#HEADER_POOL_VERSION} header), the emission time, and the production time of the
 * user-state record that caused it. A deleted pool ({@code deleted}) becomes a tombstone on the
 * compacted topic.
 */
public record PoolUpdate(
    long userId,
    long[] neighbourIds,
    float[] similarities,
    String embeddingVersion,
    long version,
    long updatedAt,
    long sourceProducedAt,
    boolean deleted) {}
