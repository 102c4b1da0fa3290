package io.adaptrec.streams;

import static io.adaptrec.schemas.testkit.Fixtures.item;
import static io.adaptrec.schemas.testkit.Fixtures.itemEmbedding;
import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogueCheckTest {
    @TempDir
    Path stateDir;

    @Test
    void invalidCatalogueRecordsAreDeadLetteredWithTheirReason() {
        UserStateConfig config = UserStateConfig.defaults().with(Map.of(
                "topic.prefix", TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX,
                "schema.registry.url", TestRegistry.url(), "state.dir", stateDir.toString()));
        Topics topics = UserStateTopology.topics(config);
        StreamCounters counters = new StreamCounters();
        try (TopologyTestDriver driver = new TopologyTestDriver(CatalogueCheck.buildTopology(config, topics, counters),
                CatalogueCheck.streamsConfig(config, counters))) {
            var items = driver.createInputTopic(topics.items().name(),
                    topics.items().keySerde().serializer(), topics.items().valueSerde().serializer());
            var embeddings = driver.createInputTopic(topics.itemEmbeddings().name(),
                    topics.itemEmbeddings().keySerde().serializer(), topics.itemEmbeddings().valueSerde().serializer());
            items.pipeInput(1L, item(1, "Heat (1995)", "Action"));
            items.pipeInput(2L, item(2, " - ", new String[0]));
            items.pipeInput(3L, null);
            embeddings.pipeInput(1L, itemEmbedding(1, "m1", 1, 2));
            embeddings.pipeInput(5L, itemEmbedding(6, "m1", 1, 2));
            embeddings.pipeInput(7L, itemEmbedding(7, "m1", 1, Float.POSITIVE_INFINITY));
            driver.createInputTopic(topics.itemEmbeddings().name(), new ByteArraySerializer(), new ByteArraySerializer())
                    .pipeInput(new byte[] {0, 0, 0, 0, 1}, new byte[] {42});

            List<DeadLetter> letters = driver.createOutputTopic(topics.deadLetter().name(),
                    topics.deadLetter().keySerde().deserializer(), topics.deadLetter().valueSerde().deserializer())
                    .readValuesToList();
            assertThat(letters).extracting(DeadLetter::getError).satisfiesExactly(
                    e -> assertThat(e).isEqualTo("item 2 has neither title words nor genres to embed"),
                    e -> assertThat(e).isEqualTo("key 5 does not match itemId 6"),
                    e -> assertThat(e).isEqualTo("vector[1] = Infinity is not a finite number"));
            assertThat(letters.get(0).getTopic()).isEqualTo(topics.items().name());
            assertThat(letters.get(0).getSource()).isEqualTo("streams/UserStateTopology/catalogue-check");
            assertThat(counters.undeserializable.get()).isEqualTo(1); // handler output: DeadLetterHandlerTest
            assertThat(counters.deadLettered.get()).isEqualTo(4);
        }
    }
}
