package io.adaptrec.flink;

/**
 * A user-state record the job could not use, on its way to the {@code dead-letter} topic
 * ({@link KafkaIo#deadLetterSink} turns it into the Avro {@code DeadLetter}, keyed by source topic).
 * A plain record rather than the Avro class so that Flink serializes it without Kryo.
 */
public record DeadLetterRecord(
    String topic, int partition, long offset, String error, String source, byte[] rawKey, byte[] rawValue, long failedAt)
    implements java.io.Serializable {

  /** Names this job in {@code DeadLetter.source} (cf. {@code streams/UserStateTopology}). */
  public static final String SOURCE = "flink/SimilarUserPoolsJob";
}
