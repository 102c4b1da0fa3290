package io.adaptrec.streams.outcome;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import io.adaptrec.streams.StreamsApp;
import io.adaptrec.streams.UserStateConfig;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/** The outcome application as {@link StreamsApp} starts it: topics, co-partitioning check, RUNNING. */
class OutcomeStreamsAppIT {
    private static UserStateConfig config(Topics topics) throws Exception {
        return UserStateConfig.defaults().with(Map.of(
                "bootstrap.servers", TestKafka.bootstrapServers(),
                "schema.registry.url", TestRegistry.url(),
                "topic.prefix", topics.prefix(),
                "application.id", topics.prefix() + "streams",
                "state.dir", Files.createTempDirectory("outcome-app-it").toString(),
                "query.http.enabled", "false"));
    }

    @Test
    void startsWithTheRoleAndCreatesItsTopics() throws Exception {
        Topics topics = TestRegistry.freshTopics();
        try (StreamsApp.Running running = StreamsApp.start(config(topics))) {
            assertThat(running.outcomes()).isNotNull();
            await().atMost(Duration.ofSeconds(90)).until(() -> running.outcomes().state() == KafkaStreams.State.RUNNING);
            try (Admin admin = TestKafka.admin()) {
                Set<String> names = admin.listTopics().names().get();
                assertThat(names).contains(topics.recResponses().name(), topics.experimentMetrics().name());
            }
        }
    }

    @Test
    void refusesResponsesAndInteractionsWithDifferentPartitionCounts() throws Exception {
        Topics topics = TestRegistry.freshTopics();
        try (Admin admin = TestKafka.admin()) {
            admin.createTopics(List.of(new NewTopic(topics.recResponses().name(), 2, (short) 1))).all().get();
        }
        UserStateConfig config = config(topics);
        assertThatThrownBy(() -> StreamsApp.start(config))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(topics.recResponses().name() + " has 2 partitions and " + topics.interactions().name() + " 6");
        assertThat(config.with(Map.of("outcome.enabled", "false")).outcome().enabled()).isFalse();
    }
}
