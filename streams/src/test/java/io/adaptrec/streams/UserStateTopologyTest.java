package io.adaptrec.streams;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static io.adaptrec.schemas.testkit.Fixtures.interaction;
import static io.adaptrec.schemas.testkit.Fixtures.item;
import static io.adaptrec.schemas.testkit.Fixtures.itemEmbedding;
import static io.adaptrec.schemas.testkit.Fixtures.rating;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every behaviour of the user-state topology, driven through TopologyTestDriver. */
class UserStateTopologyTest {
    @TempDir
    Path stateDir;

    private TopologyTestDriver driver;
    private Topics topics;
    private StreamCounters counters;
    private TestInputTopic<Long, Interaction> interactions;
    private TestInputTopic<Long, Item> items;
    private TestInputTopic<Long, ItemEmbedding> embeddings;
    private TestOutputTopic<Long, UserState> userState;
    private TestOutputTopic<String, DeadLetter> deadLetter;
    private TextEmbedding text;

    private void start(Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "topic.prefix", TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX,
                "schema.registry.url", TestRegistry.url(),
                "state.dir", stateDir.toString(),
                "history.length", "3",
                "history.grace.ms", "60000",
                "pending.scan.interval.ms", "1000",
                "migration.interval.ms", "100",
                "query.http.enabled", "false"));
        settings.putAll(overrides);
        UserStateConfig config = UserStateConfig.defaults().with(settings);
        topics = UserStateTopology.topics(config);
        counters = new StreamCounters();
        text = new TextEmbedding(config.textDim());
        driver = new TopologyTestDriver(UserStateTopology.buildTopology(config, topics, counters),
                UserStateTopology.streamsConfig(config, counters));
        interactions = driver.createInputTopic(topics.interactions().name(),
                topics.interactions().keySerde().serializer(), topics.interactions().valueSerde().serializer());
        items = driver.createInputTopic(topics.items().name(),
                topics.items().keySerde().serializer(), topics.items().valueSerde().serializer());
        embeddings = driver.createInputTopic(topics.itemEmbeddings().name(),
                topics.itemEmbeddings().keySerde().serializer(), topics.itemEmbeddings().valueSerde().serializer());
        userState = driver.createOutputTopic(topics.userState().name(),
                topics.userState().keySerde().deserializer(), topics.userState().valueSerde().deserializer());
        deadLetter = driver.createOutputTopic(topics.deadLetter().name(),
                topics.deadLetter().keySerde().deserializer(), topics.deadLetter().valueSerde().deserializer());
    }

    @AfterEach
    void close() {
        if (driver != null) driver.close();
    }

    private void catalogue(long... ids) {
        for (long id : ids) items.pipeInput(id, item(id, "Movie " + id + " title" + id, "Genre" + (id % 3)));
    }

    private void see(long user, long item, long secondsAfterT0) {
        interactions.pipeInput(user, interaction(user, item, at(secondsAfterT0)), at(secondsAfterT0));
    }

    private static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    private static List<Long> itemsOf(UserState s) {
        return s.getHistory().stream().map(HistoryEntry::getItemId).toList();
    }

    private UserState lastState(long user) {
        UserState last = null;
        for (KeyValue<Long, UserState> kv : userState.readKeyValuesToList()) if (kv.key == user) last = kv.value;
        return last;
    }

    private float[] textVector(long id) {
        return text.embed("Movie " + id + " title" + id, List.of("Genre" + (id % 3)));
    }

    /** normalise(sum of weights[i] * vectors[i]), computed independently of SequenceEmbedding. */
    private static float[] expectedMean(List<float[]> vectors, double[] weights) {
        double[] acc = new double[vectors.get(0).length];
        for (int i = 0; i < vectors.size(); i++) for (int d = 0; d < acc.length; d++) acc[d] += weights[i] * vectors.get(i)[d];
        double n = 0;
        for (double x : acc) n += x * x;
        float[] out = new float[acc.length];
        for (int d = 0; d < acc.length; d++) out[d] = (float) (acc[d] / Math.sqrt(n));
        return out;
    }

    private static float[] array(List<Float> v) {
        float[] a = new float[v.size()];
        for (int i = 0; i < a.length; i++) a[i] = v.get(i);
        return a;
    }

    @Test
    void emitsOnEveryChangeAndEvictsBeyondTheWindowLength() {
        start(Map.of());
        catalogue(1, 2, 3, 4);
        for (int i = 1; i <= 4; i++) see(7, i, i * 10L);
        List<UserState> out = userState.readValuesToList();
        assertThat(out).hasSize(4);
        assertThat(itemsOf(out.get(3))).containsExactly(2L, 3L, 4L);
        assertThat(out.get(3).getEmbeddingVersion()).isEqualTo("text-hash-v1-d64");
        assertThat(out.get(3).getHistory().get(2).getEventTime()).isEqualTo(at(40));
    }

    @Test
    void sequenceEmbeddingIsTheNormalisedRecencyWeightedMeanOfTextVectors() {
        start(Map.of("embedding.recency.half-life", "1"));
        catalogue(1, 2, 3);
        see(7, 1, 10);
        see(7, 2, 20);
        see(7, 3, 30);
        float[] expected = expectedMean(List.of(textVector(1), textVector(2), textVector(3)), new double[] {0.25, 0.5, 1});
        assertThat(array(lastState(7).getEmbedding())).containsExactly(expected, within(1e-6f));
    }

    @Test
    void outOfOrderWithinGraceIsPlacedInOrderAndBeyondGraceIsDeadLettered() {
        start(Map.of());
        catalogue(1, 2, 3, 4);
        see(7, 1, 100);
        see(7, 3, 120);
        see(7, 2, 110);       // 10 s late: inserted between 1 and 3
        see(7, 4, 120 - 61);  // 61 s behind the newest event, grace is 60 s
        assertThat(itemsOf(lastState(7))).containsExactly(1L, 2L, 3L);
        List<DeadLetter> letters = deadLetter.readValuesToList();
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).getError()).startsWith("late event").contains("history.grace.ms");
        assertThat(letters.get(0).getTopic()).isEqualTo(topics.interactions().name());
        assertThat(letters.get(0).getOffset()).isEqualTo(3);
        assertThat(counters.late.get()).isEqualTo(1);
    }

    @Test
    void duplicateEventsCountOnce() {
        start(Map.of());
        catalogue(1, 2);
        see(7, 1, 10);
        see(7, 1, 10);
        interactions.pipeInput(7L, rating(7, 1, at(10), 5f), at(10)); // same (user, item, time)
        see(7, 2, 20);
        List<UserState> out = userState.readValuesToList();
        assertThat(out).hasSize(2);
        assertThat(itemsOf(out.get(1))).containsExactly(1L, 2L);
        assertThat(counters.duplicates.get()).isEqualTo(2);
    }

    @Test
    void unknownItemStaysInHistoryOutOfTheMeanUntilItArrives() {
        start(Map.of());
        catalogue(1);
        see(7, 1, 10);
        see(7, 99, 20);
        UserState before = lastState(7);
        assertThat(itemsOf(before)).containsExactly(1L, 99L);
        assertThat(array(before.getEmbedding())).containsExactly(textVector(1), within(1e-6f));

        items.pipeInput(99L, item(99, "Movie 99 title99", "Genre0"));
        assertThat(userState.isEmpty()).isTrue(); // the scan runs on wall-clock punctuation
        driver.advanceWallClockTime(Duration.ofSeconds(2));
        UserState after = lastState(7);
        assertThat(itemsOf(after)).containsExactly(1L, 99L);
        float[] expected = expectedMean(List.of(textVector(1), textVector(99)), new double[] {1, 1});
        assertThat(array(after.getEmbedding())).containsExactly(expected, within(1e-6f));
        assertThat(counters.pendingResolved.get()).isEqualTo(1);
        KeyValueStore<Long, byte[]> pending = driver.getKeyValueStore(UserStateTopology.PENDING_STORE);
        assertThat(pending.get(7L)).isNull();
    }

    @Test
    void onlyUnknownItemsGiveAnEmptyEmbedding() {
        start(Map.of());
        see(7, 50, 10);
        UserState s = lastState(7);
        assertThat(s.getEmbedding()).isEmpty();
        assertThat(s.getEmbeddingVersion()).isEqualTo("text-hash-v1-d64");
    }

    @Test
    void tombstoneClearsTheUserAndIsForwarded() {
        start(Map.of());
        catalogue(1, 2);
        see(7, 1, 10);
        see(8, 1, 10);
        interactions.pipeInput(7L, null, at(11));
        List<KeyValue<Long, UserState>> out = userState.readKeyValuesToList();
        assertThat(out.get(out.size() - 1)).isEqualTo(KeyValue.pair(7L, null));
        KeyValueStore<Long, UserHistory> store = driver.getKeyValueStore(UserStateTopology.USER_STORE);
        assertThat(store.get(7L)).isNull();
        assertThat(store.get(8L)).isNotNull();
        see(7, 2, 5); // an old time is fine now: the user starts from scratch
        assertThat(itemsOf(lastState(7))).containsExactly(2L);
        assertThat(counters.tombstones.get()).isEqualTo(1);
    }

    @Test
    void invalidAndUndeserializableRecordsAreDeadLetteredAndProcessingContinues() {
        start(Map.of());
        catalogue(1, 2);
        interactions.pipeInput(8L, interaction(7, 1, at(10)), at(10));        // key != userId
        interactions.pipeInput(7L, rating(7, 1, at(10), Float.NaN), at(10));  // rating NaN
        TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(topics.interactions().name(),
                new ByteArraySerializer(), new ByteArraySerializer());
        raw.pipeInput(new byte[] {9}, "{\"userId\": 7}".getBytes(StandardCharsets.UTF_8));
        see(7, 2, 20);

        assertThat(itemsOf(lastState(7))).containsExactly(2L);
        // TopologyTestDriver does not collect the records a DeserializationExceptionHandler returns
        // (KIP-1034); DeadLetterHandlerTest checks them and UserStateIT sees them on a real broker
        List<KeyValue<String, DeadLetter>> letters = deadLetter.readKeyValuesToList();
        assertThat(letters).extracting(kv -> kv.key).containsOnly(topics.interactions().name());
        assertThat(letters).extracting(kv -> kv.value.getError()).containsExactly(
                "key 8 does not match userId 7", "rating NaN is not a finite number");
        assertThat(letters.get(1).value.getOffset()).isEqualTo(1);
        assertThat(letters.get(1).value.getRawBytes()).isNotNull();
        assertThat(counters.invalid.get()).isEqualTo(2);
        assertThat(counters.undeserializable.get()).isEqualTo(1);
        assertThat(counters.deadLettered.get()).isEqualTo(3);
    }

    @Test
    void usersMoveToANewModelVersionOnceItCoversTheCatalogue() {
        start(Map.of("embedding.version.switch-coverage", "0.75"));
        catalogue(1, 2, 3, 4);
        see(7, 1, 10);
        see(7, 4, 20);
        see(8, 2, 10);
        userState.readValuesToList();

        embeddings.pipeInput(1L, itemEmbedding(1, "m1", 1, 0, 0));
        embeddings.pipeInput(2L, itemEmbedding(2, "m1", 0, 1, 0));
        driver.advanceWallClockTime(Duration.ofMillis(200));
        assertThat(userState.isEmpty()).as("2 of 4 items is below the 0.75 coverage").isTrue();

        embeddings.pipeInput(3L, itemEmbedding(3, "m1", 0, 0, 1));
        driver.advanceWallClockTime(Duration.ofMillis(200));
        Map<Long, UserState> migrated = userState.readKeyValuesToMap();
        assertThat(migrated).containsOnlyKeys(7L, 8L);
        assertThat(migrated.get(7L).getEmbeddingVersion()).isEqualTo("m1");
        // item 4 has no m1 vector: in the history, out of the mean, and the user is pending
        assertThat(itemsOf(migrated.get(7L))).containsExactly(1L, 4L);
        assertThat(array(migrated.get(7L).getEmbedding())).containsExactly(1f, 0f, 0f);
        assertThat(array(migrated.get(8L).getEmbedding())).containsExactly(0f, 1f, 0f);
        assertThat(counters.migrated.get()).isEqualTo(2);

        embeddings.pipeInput(4L, itemEmbedding(4, "m1", 0, 1, 0));
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        float s = (float) Math.sqrt(0.5);
        assertThat(array(lastState(7).getEmbedding())).containsExactly(new float[] {s, s, 0}, within(1e-6f));
    }

    @Test
    void aPublishInProgressKeepsUsersInTheActiveVersionWithItsPreviousVectors() {
        start(Map.of("embedding.version.switch-coverage", "1.0"));
        catalogue(1, 2);
        embeddings.pipeInput(1L, itemEmbedding(1, "m1", 1, 0), at(100));
        embeddings.pipeInput(2L, itemEmbedding(2, "m1", 0, 1), at(100));
        embeddings.pipeInput(1L, itemEmbedding(1, "m2", 0, 0, 5), at(200)); // m2 covers 1 of 2 items
        see(7, 1, 10);
        see(7, 2, 20);
        UserState s = lastState(7);
        assertThat(s.getEmbeddingVersion()).isEqualTo("m1");
        float h = (float) Math.sqrt(0.5);
        assertThat(array(s.getEmbedding())).containsExactly(new float[] {h, h}, within(1e-6f));

        embeddings.pipeInput(2L, itemEmbedding(2, "m2", 0, 3, 0), at(200));
        driver.advanceWallClockTime(Duration.ofMillis(200));
        UserState moved = lastState(7);
        assertThat(moved.getEmbeddingVersion()).isEqualTo("m2");
        float n = (float) Math.sqrt(9 + 25);
        assertThat(array(moved.getEmbedding())).containsExactly(new float[] {0, 3 / n, 5 / n}, within(1e-6f));
    }

    @Test
    void invalidItemEmbeddingsAreNotUsed() {
        start(Map.of("embedding.version.switch-coverage", "0.5"));
        catalogue(1, 2);
        embeddings.pipeInput(1L, itemEmbedding(1, "m1", 1, 0));
        embeddings.pipeInput(2L, itemEmbedding(2, "m1", Float.NaN, 1));
        see(7, 1, 10);
        see(7, 2, 20);
        UserState s = lastState(7);
        assertThat(s.getEmbeddingVersion()).isEqualTo("m1");
        assertThat(array(s.getEmbedding())).containsExactly(1f, 0f);
    }

    @Test
    void lateEventOlderThanAFullWindowChangesNothing() {
        start(Map.of());
        catalogue(1, 2, 3, 4);
        see(7, 1, 100);
        see(7, 2, 110);
        see(7, 3, 120);
        userState.readValuesToList();
        see(7, 4, 90); // within grace but older than all 3 entries of a full window
        assertThat(userState.isEmpty()).isTrue();
        assertThat(counters.belowWindow.get()).isEqualTo(1);
    }
}
