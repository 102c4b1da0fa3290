package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.internals.DefaultErrorHandlerContext;
import org.apache.kafka.streams.processor.TaskId;
import org.junit.jupiter.api.Test;

class DeadLetterHandlerTest {
    @Test
    void routesTheRawRecordWithTheReasonAndResumes() {
        String prefix = TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX;
        StreamCounters counters = new StreamCounters();
        DeadLetters.Handler handler = new DeadLetters.Handler();
        handler.configure(Map.of("schema.registry.url", TestRegistry.url(),
                DeadLetters.TOPIC_PREFIX_CONFIG, prefix, DeadLetters.COUNTERS_CONFIG, counters));
        Topics topics = new Topics(prefix, TestRegistry.serdeConfig());
        ConsumerRecord<byte[], byte[]> bad = new ConsumerRecord<>(topics.interactions().name(), 2, 41L,
                new byte[] {7}, new byte[] {'{', '}'});
        DefaultErrorHandlerContext ctx = new DefaultErrorHandlerContext(null, bad.topic(), 2, 41L, new RecordHeaders(),
                "interactions-source", new TaskId(0, 2), 0L, bad.key(), bad.value());

        DeserializationExceptionHandler.Response r = handler.handleError(ctx, bad,
                new SerializationException("bad wire format", new IllegalStateException("unknown magic byte 0x7b")));

        assertThat(r.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).hasSize(1);
        ProducerRecord<byte[], byte[]> out = r.deadLetterQueueRecords().get(0);
        assertThat(out.topic()).isEqualTo(topics.deadLetter().name());
        assertThat(topics.deadLetter().keySerde().deserializer().deserialize(out.topic(), out.key()))
                .isEqualTo(topics.interactions().name());
        DeadLetter letter = topics.deadLetter().valueSerde().deserializer().deserialize(out.topic(), out.value());
        assertThat(letter.getError()).isEqualTo("cannot deserialize record: bad wire format: unknown magic byte 0x7b");
        assertThat(letter.getPartition()).isEqualTo(2);
        assertThat(letter.getOffset()).isEqualTo(41L);
        assertThat(letter.getRawBytes().array()).containsExactly('{', '}');
        assertThat(letter.getRawKey().array()).containsExactly(7);
        assertThat(counters.undeserializable.get()).isEqualTo(1);
    }

    @Test
    void aRegistryOutageFailsTheThreadToRetryInsteadOfDeadLettering() {
        String prefix = TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX;
        Topics topics = new Topics(prefix, TestRegistry.serdeConfig());
        StreamCounters counters = new StreamCounters();
        DeadLetters.Handler handler = new DeadLetters.Handler();
        handler.configure(Map.of("schema.registry.url", TestRegistry.url(), DeadLetters.TOPIC_PREFIX_CONFIG, prefix,
                DeadLetters.COUNTERS_CONFIG, counters, DeadLetters.SKIP_TOPICS_CONFIG, topics.interactions().name()));
        SerializationException outage = new SerializationException("wrapped", new RegistryUnavailableException(
                "schema 7 not cached and the registry cannot be asked", null));
        // even on a topic whose bad records another application dead-letters: the record is not bad
        for (String topic : new String[] {topics.interactions().name(), topics.items().name()}) {
            ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>(topic, 0, 5L, null, new byte[] {0, 0, 0, 0, 7});
            DeserializationExceptionHandler.Response response = handler.handleError(context(r), r, outage);
            assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.FAIL);
            assertThat(response.deadLetterQueueRecords()).isEmpty();
        }
        assertThat(counters.registryUnavailable.get()).isEqualTo(2);
        assertThat(counters.undeserializable.get()).isZero();
        assertThat(counters.deadLettered.get()).isZero();
    }

    @Test
    void theUserStateAppSkipsUndecodableCatalogueRecordsWhichTheCatalogueCheckDeadLetters() {
        // the user-state app decodes items and item-embeddings on its global thread, which cannot
        // produce: a dead letter returned there kills it (and the application, for good)
        UserStateConfig config = UserStateConfig.defaults().with(Map.of(
                "topic.prefix", TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX, "schema.registry.url", TestRegistry.url()));
        Topics topics = UserStateTopology.topics(config);
        SerializationException e = new SerializationException("bad wire format");
        for (boolean check : new boolean[] {false, true}) {
            StreamCounters counters = new StreamCounters();
            java.util.Properties p = check ? CatalogueCheck.streamsConfig(config, counters)
                    : UserStateTopology.streamsConfig(config, counters);
            DeadLetters.Handler handler = new DeadLetters.Handler();
            Map<String, Object> m = new java.util.HashMap<>();
            p.forEach((k, v) -> m.put(k.toString(), v));
            handler.configure(m);
            for (String topic : new String[] {topics.items().name(), topics.itemEmbeddings().name()}) {
                ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>(topic, 0, 3L, null, new byte[] {1});
                DeserializationExceptionHandler.Response response = handler.handleError(context(r), r, e);
                assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
                assertThat(response.deadLetterQueueRecords()).as("catalogue-check=%s, %s", check, topic).hasSize(check ? 1 : 0);
            }
            assertThat(counters.undeserializableSkipped.get()).isEqualTo(check ? 0 : 2);
        }
    }

    @Test
    void skipsTopicsAnotherApplicationDeadLettersAndNamesItsSource() {
        String prefix = TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX;
        Topics topics = new Topics(prefix, TestRegistry.serdeConfig());
        StreamCounters counters = new StreamCounters();
        DeadLetters.Handler handler = new DeadLetters.Handler();
        handler.configure(Map.of("schema.registry.url", TestRegistry.url(),
                DeadLetters.TOPIC_PREFIX_CONFIG, prefix, DeadLetters.COUNTERS_CONFIG, counters,
                DeadLetters.SOURCE_CONFIG, "streams/OutcomeTopology",
                DeadLetters.SKIP_TOPICS_CONFIG, topics.interactions().name()));
        SerializationException e = new SerializationException("bad wire format");

        ConsumerRecord<byte[], byte[]> skipped = new ConsumerRecord<>(topics.interactions().name(), 0, 1L, null, new byte[] {1});
        DeserializationExceptionHandler.Response r = handler.handleError(context(skipped), skipped, e);
        assertThat(r.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).isEmpty();
        assertThat(counters.undeserializableSkipped.get()).isEqualTo(1);
        assertThat(counters.undeserializable.get()).isZero();

        ConsumerRecord<byte[], byte[]> owned = new ConsumerRecord<>(topics.recResponses().name(), 0, 2L, null, new byte[] {1});
        r = handler.handleError(context(owned), owned, e);
        assertThat(r.deadLetterQueueRecords()).hasSize(1);
        ProducerRecord<byte[], byte[]> out = r.deadLetterQueueRecords().get(0);
        DeadLetter letter = topics.deadLetter().valueSerde().deserializer().deserialize(out.topic(), out.value());
        assertThat(letter.getSource()).isEqualTo("streams/OutcomeTopology/source");
        assertThat(letter.getTopic()).isEqualTo(topics.recResponses().name());
        assertThat(counters.undeserializable.get()).isEqualTo(1);
    }

    private static DefaultErrorHandlerContext context(ConsumerRecord<byte[], byte[]> r) {
        return new DefaultErrorHandlerContext(null, r.topic(), r.partition(), r.offset(), new RecordHeaders(),
                "source", new TaskId(0, r.partition()), 0L, r.key(), r.value());
    }
}
