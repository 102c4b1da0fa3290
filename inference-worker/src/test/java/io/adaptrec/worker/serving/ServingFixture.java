package io.adaptrec.worker.serving;

import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.selection.Neighbourhood;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A small live world for serving tests: a tiny RecLM trained on synthetic data and saved as a
 * model directory, and the topics a worker reads filled the way Streams and the pools job would
 * fill them (user-state with the last 20 events, pools from the model's own stage 1 with pool
 * version 1, every interaction, the catalogue). Users are 1..{@value #USERS}.
 */
final class ServingFixture implements AutoCloseable {

    static final int USERS = 48;
    static final int ITEMS = 40;

    final Topics topics = TestRegistry.freshTopics();
    final Dataset data;
    final Path modelDir;
    final Map<Long, long[]> histories = new LinkedHashMap<>();   // full sequences by user
    final Map<Long, long[]> times = new LinkedHashMap<>();
    final Map<Long, long[]> pools = new LinkedHashMap<>();
    private final KafkaProducer<byte[], byte[]> producer;

    ServingFixture() throws Exception {
        TestKafka.createTopics(topics.all());
        data = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(3).withSize(USERS, ITEMS, 12, 20)).dataset();
        for (Dataset.Event e : data.interactions()) {
            histories.merge(e.userId(), new long[] {e.itemId()}, ServingFixture::concat);
            times.merge(e.userId(), new long[] {e.eventTimeMillis()}, ServingFixture::concat);
        }
        modelDir = Files.createTempDirectory("serving-model");
        Split split = Split.create(data, Protocol.LOO);
        RecLMConfig mc = new RecLMConfig(16, 1, 1, 256, 0f, true, 4, 8f, false);
        TrainConfig tc = new TrainConfig(7, 3, 20, 1, 1, 2, 16, 3e-3f, 3e-3f, 3, 10, 9, 1f, 0.3f, 0);
        try (RecLMSystem sys = RecLMSystem.train(split.trainingData(1), mc, tc, s -> { })) {
            sys.save(modelDir, "v1", Map.of());
            for (long u : histories.keySet()) {
                long[] h = histories.get(u);
                Neighbourhood.Pool p = sys.neighbourhood().pool(u, Arrays.copyOfRange(h, Math.max(0, h.length - 10), h.length),
                        10, Long.MAX_VALUE);
                pools.put(u, p.members().stream().mapToLong(Neighbourhood.Member::userId).toArray());
            }
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(p);
        for (Dataset.Item it : data.items()) {
            send(topics.items(), it.itemId(), new Item(it.itemId(), it.title(), it.genres(), Map.of(), Instant.EPOCH));
        }
        for (Dataset.Event e : data.interactions()) {
            send(topics.interactions(), e.userId(), Interaction.newBuilder().setUserId(e.userId()).setItemId(e.itemId())
                    .setEventTime(Instant.ofEpochMilli(e.eventTimeMillis())).setKind(io.adaptrec.avro.InteractionKind.VIEW).setRating(null).build());
        }
        for (long u : histories.keySet()) {
            send(topics.userState(), u, state(u));
            send(topics.userPools(), u, pool(u, pools.get(u), 1));
        }
        producer.flush();
    }

    UserState state(long u) {
        long[] h = histories.get(u);
        long[] t = times.get(u);
        List<HistoryEntry> entries = new ArrayList<>();
        for (int i = Math.max(0, h.length - 20); i < h.length; i++) {
            entries.add(new HistoryEntry(h[i], Instant.ofEpochMilli(t[i]), null));
        }
        return new UserState(u, entries, List.of(1f), "test-space", Instant.EPOCH);
    }

    SimilarUserPool pool(long u, long[] members, long version) {
        List<Neighbour> ns = new ArrayList<>();
        for (int i = 0; i < members.length; i++) {
            ns.add(new Neighbour(members[i], 0.9f - i * 0.01f));
        }
        return new SimilarUserPool(u, ns, "test-space", Instant.EPOCH, version);
    }

    <K, V> void send(Topic<K, V> topic, K key, V value) {
        producer.send(new ProducerRecord<>(topic.name(), topic.keySerde().serializer().serialize(topic.name(), key),
                value == null ? null : topic.valueSerde().serializer().serialize(topic.name(), value)));
    }

    void sendRaw(String topic, byte[] key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, key, value));
    }

    void flush() {
        producer.flush();
    }

    /** Worker settings for this world; {@code instance} names the worker (its transactional id). */
    Properties config(String instance) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", TestKafka.bootstrapServers());
        p.setProperty("schema.registry.url", TestRegistry.url());
        p.setProperty("topic.prefix", topics.prefix());
        p.setProperty("model.dir", modelDir.toString());
        p.setProperty("serving.group.id", "workers-" + topics.prefix().replace(".", ""));
        p.setProperty("serving.instance.id", instance);
        p.setProperty("http.port", "0");
        p.setProperty("serving.selection.m", "3");
        p.setProperty("serving.candidates.generate", "15");
        p.setProperty("kafka.auto.offset.reset", "earliest");
        return p;
    }

    /** 20 items the user never interacted with, in a fixed order (fewer if the catalogue is short). */
    long[] unseen(long user, int count) {
        long[] h = histories.get(user);
        return data.items().stream().mapToLong(Dataset.Item::itemId)
                .filter(i -> Arrays.stream(h).noneMatch(x -> x == i)).limit(count).toArray();
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public void close() {
        producer.close();
    }
}
