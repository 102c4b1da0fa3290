package io.adaptrec.streams;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * Replays a seeded synthetic dataset through the application on a real broker and registry,
 * stops the application half way (its successor starts on an empty state directory, so it must
 * restore from the changelogs), and checks that the final user states equal a from-scratch
 * computation written independently here: nothing lost, nothing doubled.
 */
class UserStateIT {
    private static final int USERS = 150;
    private static final int ITEMS = 120;
    private static final int EVENTS = 4000;
    private static final int L = 10;
    /** Items only published after the restart: unknown (in history, out of the mean) until then. */
    private static final int LATE_ITEMS_FROM = 110;

    private record Event(long user, long item, long time) {}

    @Test
    void restartMidStreamLosesAndDoublesNothing() throws Exception {
        Topics topics = TestRegistry.freshTopics();
        TestKafka.createTopics(List.of(topics.items(), topics.interactions(), topics.itemEmbeddings(),
                topics.userState(), topics.deadLetter()));
        Path work = Files.createTempDirectory("user-state-it");
        UserStateConfig config = UserStateConfig.defaults().with(Map.of(
                "bootstrap.servers", TestKafka.bootstrapServers(),
                "schema.registry.url", TestRegistry.url(),
                "topic.prefix", topics.prefix(),
                "application.id", topics.prefix() + "user-state",
                "history.length", Integer.toString(L),
                "pending.scan.interval.ms", "200",
                "query.http.enabled", "false",
                "topics.ensure", "false"));

        Random rnd = new Random(20261123);
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            // jitter of up to 30 s keeps events out of order but inside the default 24 h grace
            long time = T0.toEpochMilli() + i * 1000L - rnd.nextInt(30_000);
            events.add(new Event(rnd.nextInt(USERS), rnd.nextInt(ITEMS), time));
            if (rnd.nextInt(20) == 0) events.add(events.get(events.size() - 1)); // duplicate delivery
        }
        int invalid = 0;
        try (KafkaProducer<Long, Item> items = producer(topics.items());
             KafkaProducer<Long, Interaction> interactions = producer(topics.interactions())) {
            for (long id = 0; id < LATE_ITEMS_FROM; id++) items.send(itemRecord(topics, id));
            items.flush();

            int half = events.size() / 2;
            StreamCounters firstCounters = new StreamCounters();
            try (KafkaStreams first = app(config, topics, work.resolve("first"), firstCounters)) {
                invalid += send(interactions, topics, events.subList(0, half), rnd);
                try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()),
                        new ByteArraySerializer(), new ByteArraySerializer())) {
                    raw.send(new ProducerRecord<>(topics.interactions().name(), new byte[] {1}, "not avro".getBytes()));
                }
                invalid++;
                await().atMost(Duration.ofSeconds(60)).until(() -> firstCounters.interactions.get() + firstCounters.undeserializable.get() >= half + 1);
            }
            invalid += send(interactions, topics, events.subList(half, events.size()), rnd);
            StreamCounters secondCounters = new StreamCounters();
            try (KafkaStreams second = app(config, topics, work.resolve("second"), secondCounters)) {
                for (long id = LATE_ITEMS_FROM; id < ITEMS; id++) items.send(itemRecord(topics, id));
                items.flush();
                Map<Long, List<Event>> expected = fromScratch(events);
                TextEmbedding text = new TextEmbedding(config.textDim());
                Map<Long, UserState> actual = new HashMap<>();
                try (KafkaConsumer<Long, UserState> c = consumer(topics.userState())) {
                    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                        for (ConsumerRecord<Long, UserState> r : c.poll(Duration.ofMillis(100))) actual.put(r.key(), r.value());
                        assertThat(actual.keySet()).isEqualTo(expected.keySet());
                        for (var e : expected.entrySet()) assertUser(e.getKey(), e.getValue(), actual.get(e.getKey()), text);
                    });
                }
            }
        }
        final int invalidSent = invalid;
        try (KafkaConsumer<String, DeadLetter> c = consumer(topics.deadLetter())) {
            List<DeadLetter> letters = new ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                for (ConsumerRecord<String, DeadLetter> r : c.poll(Duration.ofMillis(200))) letters.add(r.value());
                assertThat(letters).hasSize(invalidSent);
            });
            Thread.sleep(1000); // anything doubled would show up now
            c.poll(Duration.ofMillis(500)).forEach(r -> letters.add(r.value()));
            assertThat(letters).hasSize(invalidSent);
            assertThat(letters.stream().filter(l -> l.getError().startsWith("cannot deserialize record")).count())
                    .as("the undeserializable record, routed by the handler").isEqualTo(1);
            assertThat(letters.stream().filter(l -> l.getError().equals("itemId -1 is negative")).count())
                    .isEqualTo(invalidSent - 1);
        }
    }

    /** The window by definition: distinct (item, time) per user, the L newest by (time, item). */
    private static Map<Long, List<Event>> fromScratch(List<Event> events) {
        Map<Long, TreeSet<Event>> byUser = new LinkedHashMap<>();
        Comparator<Event> order = Comparator.comparingLong(Event::time).thenComparingLong(Event::item);
        for (Event e : events) byUser.computeIfAbsent(e.user(), u -> new TreeSet<>(order)).add(e);
        Map<Long, List<Event>> out = new HashMap<>();
        byUser.forEach((u, set) -> {
            List<Event> all = new ArrayList<>(set);
            out.put(u, all.subList(Math.max(0, all.size() - L), all.size()));
        });
        return out;
    }

    private static void assertUser(long user, List<Event> window, UserState s, TextEmbedding text) {
        assertThat(s).as("user %d", user).isNotNull();
        assertThat(s.getHistory()).extracting(HistoryEntry::getItemId).as("user %d items", user)
                .containsExactlyElementsOf(window.stream().map(Event::item).toList());
        assertThat(s.getHistory()).extracting(h -> h.getEventTime().toEpochMilli())
                .containsExactlyElementsOf(window.stream().map(Event::time).toList());
        double[] acc = new double[text.dim()];
        for (Event e : window) {
            float[] v = text.embed(title(e.item()), List.of(genre(e.item())));
            for (int d = 0; d < acc.length; d++) acc[d] += v[d];
        }
        double n = Math.sqrt(java.util.Arrays.stream(acc).map(x -> x * x).sum());
        assertThat(s.getEmbedding()).hasSize(text.dim());
        for (int d = 0; d < acc.length; d++) {
            assertThat((double) s.getEmbedding().get(d)).as("user %d dim %d", user, d).isCloseTo(acc[d] / n, within(1e-5));
        }
    }

    /** Sends events (plus a few invalid records); returns how many invalid records it sent. */
    private static int send(KafkaProducer<Long, Interaction> p, Topics topics, List<Event> events, Random rnd) {
        int invalid = 0;
        for (Event e : events) {
            p.send(new ProducerRecord<>(topics.interactions().name(), e.user(),
                    new Interaction(e.user(), e.item(), java.time.Instant.ofEpochMilli(e.time()), InteractionKind.VIEW, null)));
            if (rnd.nextInt(200) == 0) {
                p.send(new ProducerRecord<>(topics.interactions().name(), e.user(),
                        new Interaction(e.user(), -1L, java.time.Instant.ofEpochMilli(e.time()), InteractionKind.CLICK, null)));
                invalid++;
            }
        }
        p.flush();
        return invalid;
    }

    private static String title(long id) {
        return "Synthetic title " + id + " part " + (id % 7);
    }

    private static String genre(long id) {
        return "Genre" + (id % 5);
    }

    private static ProducerRecord<Long, Item> itemRecord(Topics topics, long id) {
        return new ProducerRecord<>(topics.items().name(), id, new Item(id, title(id), List.of(genre(id)), Map.of(), T0));
    }

    private static KafkaStreams app(UserStateConfig base, Topics topics, Path stateDir, StreamCounters counters) {
        UserStateConfig config = base.with(Map.of("state.dir", stateDir.toString()));
        KafkaStreams s = new KafkaStreams(UserStateTopology.buildTopology(config, topics, counters),
                UserStateTopology.streamsConfig(config, counters));
        s.start();
        return s;
    }

    private static <K, V> KafkaProducer<K, V> producer(Topic<K, V> topic) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 5), topic.keySerde().serializer(), topic.valueSerde().serializer());
    }

    private static <K, V> KafkaConsumer<K, V> consumer(Topic<K, V> topic) {
        KafkaConsumer<K, V> c = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), topic.keySerde().deserializer(), topic.valueSerde().deserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (int i = 0; i < topic.partitions(); i++) parts.add(new TopicPartition(topic.name(), i));
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }
}
