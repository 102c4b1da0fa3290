package io.adaptrec.streams.outcome;

import static io.adaptrec.schemas.testkit.Fixtures.interaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import io.adaptrec.streams.StreamCounters;
import io.adaptrec.streams.UserStateConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * Responses and interactions through the outcome application on a real broker and registry with
 * exactly-once on. The application is stopped after reading the responses; its successor starts
 * on an empty state directory, so the waiting responses must come back from the changelogs. The
 * latest ArmMetrics per (arm, window), summed, must equal counts computed independently here.
 */
class OutcomeIT {
    private static final int USERS = 60;
    private static final long[] RANKING = {10, 11, 12, 13, 14, 15};
    /** Long enough to cover the restart (stop, rebalance, restore) between a response and its interaction. */
    private static final long WINDOW_MS = 30_000;

    /** Expected sums of one arm over all windows. */
    private static final class Expected {
        long served, errors, outcomes, hitsAt1, hitsAt5, missing;
        double ndcg;
    }

    @Test
    void latestArmMetricsPerWindowAddUpToEveryResponseOnceAcrossARestart() throws Exception {
        Topics topics = TestRegistry.freshTopics();
        TestKafka.createTopics(List.of(topics.recResponses(), topics.interactions(), topics.experimentMetrics(),
                topics.deadLetter()));
        Path work = Files.createTempDirectory("outcome-it");
        UserStateConfig config = UserStateConfig.defaults().with(Map.of(
                "bootstrap.servers", TestKafka.bootstrapServers(),
                "schema.registry.url", TestRegistry.url(),
                "topic.prefix", topics.prefix(),
                "application.id", topics.prefix() + "streams",
                "query.http.enabled", "false",
                "topics.ensure", "false",
                "outcome.window.ms", Long.toString(WINDOW_MS),
                "outcome.emit.interval.ms", "500"));
        assertThat(config.processingGuarantee()).isEqualTo("exactly_once_v2");

        Map<String, Expected> expected = new TreeMap<>();
        List<ProducerRecord<Long, Interaction>> next = new ArrayList<>();
        List<ProducerRecord<Long, RecommendationResponse>> served = new ArrayList<>();
        for (long u = 0; u < USERS; u++) {
            String experiment = u % 3 == 2 ? null : "exp1";
            String arm = u % 3 == 0 ? "control" : "candidate";
            boolean failed = u % 10 == 9;
            RecommendationResponse r = RecommendationResponse.newBuilder(Fixtures.response("r" + u, u, RANKING))
                    .setExperimentId(experiment).setArm(arm).setRespondedAt(Instant.now())
                    .setStatus(failed ? ResponseStatus.ERROR : ResponseStatus.OK)
                    .setItems(failed ? List.of() : Fixtures.response("r", u, RANKING).getItems()).build();
            served.add(new ProducerRecord<>(topics.recResponses().name(), u, r));
            Expected e = expected.computeIfAbsent(experiment == null ? "production/control" : experiment + "/" + arm,
                    k -> new Expected());
            e.served++;
            if (failed) {
                e.errors++;
            } else if (u % 4 == 3) {
                e.missing++; // no interaction follows
            } else {
                int rank = (int) (u % 7); // 0: an item not in the list
                long item = rank == 0 ? 999 : RANKING[rank - 1];
                e.outcomes++;
                if (rank == 1) e.hitsAt1++;
                if (rank >= 1 && rank <= 5) e.hitsAt5++;
                e.ndcg += rank == 0 ? 0 : 1 / (Math.log(rank + 1) / Math.log(2));
            }
            if (u % 4 != 3) {
                // historic event time, as in a replay: must not matter
                next.add(new ProducerRecord<>(topics.interactions().name(), null, 1_000L, u,
                        interaction(u, u % 7 == 0 ? 999 : RANKING[(int) (u % 7) - 1], Instant.ofEpochMilli(1_000))));
            }
        }

        StreamCounters first = new StreamCounters();
        long responsesRead;
        try (KafkaProducer<Long, RecommendationResponse> p = producer(topics.recResponses());
             KafkaStreams app = app(config, topics, work.resolve("first"), first)) {
            served.forEach(p::send);
            p.flush();
            try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()),
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                raw.send(new ProducerRecord<>(topics.recResponses().name(), new byte[] {1}, "not avro".getBytes(StandardCharsets.UTF_8)));
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> first.outcomeResponses.get() + first.undeserializable.get() >= USERS + 1);
            responsesRead = System.currentTimeMillis();
            Thread.sleep(1500); // let a commit and an emission happen before the stop
            // Kafka Streams does not leave the group on close by default: the successor would wait
            // for the session timeout (45 s), longer than the outcome window
            app.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }

        StreamCounters second = new StreamCounters();
        Map<String, ArmMetrics> latest = new HashMap<>();
        try (KafkaProducer<Long, Interaction> p = producer(topics.interactions());
             KafkaStreams app = app(config, topics, work.resolve("second"), second);
             KafkaConsumer<String, ArmMetrics> c = consumer(topics.experimentMetrics())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> app.state() == KafkaStreams.State.RUNNING);
            System.out.println("OutcomeIT: successor RUNNING " + (System.currentTimeMillis() - responsesRead) + " ms after the responses were read");
            next.forEach(p::send);
            p.flush();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                for (ConsumerRecord<String, ArmMetrics> r : c.poll(Duration.ofMillis(100))) {
                    latest.put(r.key() + "@" + r.value().getWindowStart().toEpochMilli(), r.value());
                }
                assertThat(second.outcomesLate.get()).as("late outcomes: the restart took longer than the outcome window; %s", second).isZero();
                assertSums(expected, latest);
            });
            assertThat(second.outcomesJoined.get()).as("every waiting response came back from the changelog")
                    .isEqualTo(expected.values().stream().mapToLong(e -> e.outcomes).sum());
        }

        try (KafkaConsumer<String, DeadLetter> c = consumer(topics.deadLetter())) {
            List<DeadLetter> letters = new ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> letters.add(r.value()));
                assertThat(letters).hasSize(1);
            });
            assertThat(letters.get(0).getError()).startsWith("cannot deserialize record");
            assertThat(letters.get(0).getSource()).startsWith("streams/OutcomeTopology/");
        }
    }

    private static void assertSums(Map<String, Expected> expected, Map<String, ArmMetrics> latest) {
        Map<String, List<ArmMetrics>> byArm = new TreeMap<>();
        latest.values().forEach(m -> byArm.computeIfAbsent(m.getExperimentId() + "/" + m.getArm(), k -> new ArrayList<>()).add(m));
        assertThat(byArm.keySet()).isEqualTo(expected.keySet());
        expected.forEach((arm, e) -> {
            List<ArmMetrics> ws = byArm.get(arm);
            assertThat(ws.stream().mapToLong(ArmMetrics::getServed).sum()).as(arm + " served").isEqualTo(e.served);
            assertThat(ws.stream().mapToLong(ArmMetrics::getErrors).sum()).as(arm + " errors").isEqualTo(e.errors);
            assertThat(ws.stream().mapToLong(ArmMetrics::getOutcomes).sum()).as(arm + " outcomes").isEqualTo(e.outcomes);
            assertThat(ws.stream().mapToLong(ArmMetrics::getHitsAt1).sum()).as(arm + " hits@1").isEqualTo(e.hitsAt1);
            assertThat(ws.stream().mapToLong(ArmMetrics::getHitsAt5).sum()).as(arm + " hits@5").isEqualTo(e.hitsAt5);
            assertThat(ws.stream().mapToLong(ArmMetrics::getMissingOutcomes).sum()).as(arm + " missing").isEqualTo(e.missing);
            assertThat(ws.stream().mapToDouble(ArmMetrics::getNdcgSum).sum()).as(arm + " ndcg").isCloseTo(e.ndcg, within(1e-9));
            assertThat(ws.stream().mapToLong(m -> m.getLatencyCounts().stream().mapToLong(Long::longValue).sum()).sum())
                    .as(arm + " histogram").isEqualTo(e.served);
        });
    }

    private static KafkaStreams app(UserStateConfig base, Topics topics, Path stateDir, StreamCounters counters) {
        UserStateConfig config = base.with(Map.of("state.dir", stateDir.toString()));
        KafkaStreams s = new KafkaStreams(OutcomeTopology.buildTopology(config, topics, counters),
                OutcomeTopology.streamsConfig(config, topics, counters));
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
