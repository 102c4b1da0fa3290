package io.adaptrec.streams;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Building {@link DeadLetter} records: one shape for records that failed to deserialize or to validate. */
public final class DeadLetters {
    private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

    /** Names this application in {@link DeadLetter#getSource()}. */
    static final String SOURCE = "streams/UserStateTopology";

    /** Streams config keys through which the handler finds the registry, the topics and the counters. */
    static final String TOPIC_PREFIX_CONFIG = "adaptrec.topic.prefix";
    static final String COUNTERS_CONFIG = "adaptrec.counters";
    /** Names the application in {@link DeadLetter#getSource()} (default {@value #SOURCE}). */
    public static final String SOURCE_CONFIG = "adaptrec.dead-letter.source";
    /**
     * Comma-separated input topics whose undeserializable records another application of this role
     * dead-letters already: the handler counts ({@code undeserializable_skipped}) and skips them, so
     * one bad record gives one dead letter however many applications read its topic.
     */
    public static final String SKIP_TOPICS_CONFIG = "adaptrec.dead-letter.skip-topics";

    private DeadLetters() {}

    static DeadLetter of(String topic, int partition, long offset, String error, String processor,
                         byte[] rawKey, byte[] rawValue, long now) {
        return of(SOURCE, topic, partition, offset, error, processor, rawKey, rawValue, now);
    }

    /** A dead letter written by {@code source} (an application, e.g. {@code streams/OutcomeTopology}). */
    public static DeadLetter of(String source, String topic, int partition, long offset, String error, String processor,
                                byte[] rawKey, byte[] rawValue, long now) {
        return DeadLetter.newBuilder()
                .setTopic(topic)
                .setPartition(partition)
                .setOffset(offset)
                .setError(error)
                .setSource(source + "/" + processor)
                .setRawKey(rawKey == null ? null : ByteBuffer.wrap(rawKey))
                .setRawBytes(rawValue == null ? null : ByteBuffer.wrap(rawValue))
                .setFailedAt(Instant.ofEpochMilli(now))
                .build();
    }

    /**
     * Routes records that cannot be deserialized to the dead-letter topic (KIP-1034: the records
     * returned here are produced by Kafka Streams itself, inside the same transaction as the
     * offsets under exactly-once) and lets processing continue. The global thread, which
     * maintains the catalogue stores, cannot produce; there the record is logged and skipped,
     * and the catalogue-check application dead-letters the same record exactly once.
     */
    public static final class Handler implements DeserializationExceptionHandler {
        private Topic<String, DeadLetter> deadLetter;
        private StreamCounters counters;
        private String source = SOURCE;
        private Set<String> skipTopics = Set.of();

        @Override
        public void configure(Map<String, ?> configs) {
            Object prefix = configs.get(TOPIC_PREFIX_CONFIG);
            Topics topics = new Topics(prefix == null ? Topics.DEFAULT_PREFIX : prefix.toString(),
                    AvroSerdeConfig.fromMap(configs));
            deadLetter = topics.deadLetter();
            Object c = configs.get(COUNTERS_CONFIG);
            counters = c instanceof StreamCounters sc ? sc : new StreamCounters();
            Object s = configs.get(SOURCE_CONFIG);
            if (s != null) source = s.toString();
            Object skip = configs.get(SKIP_TOPICS_CONFIG);
            if (skip != null && !skip.toString().isBlank()) skipTopics = Set.of(skip.toString().split(","));
        }

        @Override
        public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                    Exception exception) {
            if (RegistryUnavailableException.in(exception)) {
                // not a bad record: the registry is down and this schema id is not cached yet; failing
                // the thread (replaced by the app's handler) reprocesses it from the last commit
                counters.registryUnavailable.incrementAndGet();
                log.warn("{}-{}@{}: {}; failing the stream thread to retry it", record.topic(), record.partition(),
                        record.offset(), exception.getMessage());
                return Response.fail();
            }
            if (skipTopics.contains(record.topic())) {
                counters.undeserializableSkipped.incrementAndGet();
                log.debug("skipped undeserializable {}-{}@{} (dead-lettered by the application that owns the topic)",
                        record.topic(), record.partition(), record.offset());
                return Response.resume();
            }
            counters.undeserializable.incrementAndGet();
            String reason = "cannot deserialize record: " + describe(exception);
            log.warn("dead letter: {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), reason);
            DeadLetter letter = of(source, record.topic(), record.partition(), record.offset(), reason,
                    String.valueOf(context.processorNodeId()), record.key(), record.value(), System.currentTimeMillis());
            byte[] key = deadLetter.keySerde().serializer().serialize(deadLetter.name(), record.topic());
            byte[] value = deadLetter.valueSerde().serializer().serialize(deadLetter.name(), letter);
            counters.deadLettered.incrementAndGet();
            return Response.resume(List.of(new ProducerRecord<>(deadLetter.name(), null, key, value)));
        }
    }

    /** The innermost cause's message, which is what says what was wrong with the bytes. */
    static String describe(Throwable e) {
        Throwable t = e;
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null && !sb.toString().contains(t.getMessage())) sb.append(": ").append(t.getMessage());
        }
        return sb.length() > 1000 ? sb.substring(0, 1000) + "..." : sb.toString();
    }
}
