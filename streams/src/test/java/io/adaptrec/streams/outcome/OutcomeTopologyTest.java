package io.adaptrec.streams.outcome;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static io.adaptrec.schemas.testkit.Fixtures.interaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestRegistry;
import io.adaptrec.streams.StreamCounters;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.streams.UserStateTopology;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every behaviour of the outcome topology, driven through TopologyTestDriver on a mocked wall clock. */
class OutcomeTopologyTest {
    /** outcome.window.ms and outcome.emit.interval.ms in these tests. */
    private static final long WINDOW_MS = 60_000;
    private static final long EMIT_MS = 5_000;
    /** Item ids of the standard served list, best first. */
    private static final long[] RANKING = {10, 11, 12, 13, 14, 15};

    @TempDir
    Path stateDir;

    private TopologyTestDriver driver;
    private StreamCounters counters;
    private TestInputTopic<Long, RecommendationResponse> responses;
    private TestInputTopic<Long, Interaction> interactions;
    private TestOutputTopic<String, ArmMetrics> metrics;
    private TestOutputTopic<String, DeadLetter> deadLetter;
    private Topics topics;
    private int requests;
    /** Latest record per (key, windowStart), as a consumer of experiment-metrics keeps them. */
    private final Map<String, ArmMetrics> latest = new LinkedHashMap<>();

    private void start(Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "topic.prefix", TestRegistry.uniquePrefix() + Topics.DEFAULT_PREFIX,
                "schema.registry.url", TestRegistry.url(),
                "state.dir", stateDir.toString(),
                "query.http.enabled", "false",
                "outcome.window.ms", Long.toString(WINDOW_MS),
                "outcome.emit.interval.ms", Long.toString(EMIT_MS)));
        settings.putAll(overrides);
        UserStateConfig config = UserStateConfig.defaults().with(settings);
        topics = UserStateTopology.topics(config);
        counters = new StreamCounters();
        Properties props = OutcomeTopology.streamsConfig(config, topics, counters);
        // the wall clock starts at T0, so responses answered at T0 are current, not beyond retention
        driver = new TopologyTestDriver(OutcomeTopology.buildTopology(config, topics, counters), props, T0);
        responses = driver.createInputTopic(topics.recResponses().name(),
                topics.recResponses().keySerde().serializer(), topics.recResponses().valueSerde().serializer());
        interactions = driver.createInputTopic(topics.interactions().name(),
                topics.interactions().keySerde().serializer(), topics.interactions().valueSerde().serializer());
        metrics = driver.createOutputTopic(topics.experimentMetrics().name(),
                topics.experimentMetrics().keySerde().deserializer(), topics.experimentMetrics().valueSerde().deserializer());
        deadLetter = driver.createOutputTopic(topics.deadLetter().name(),
                topics.deadLetter().keySerde().deserializer(), topics.deadLetter().valueSerde().deserializer());
    }

    private void start() {
        start(Map.of());
    }

    @AfterEach
    void close() {
        if (driver != null) driver.close();
    }

    // ---- fixtures ----

    private RecommendationResponse.Builder response(long user, String experiment, String arm, long... items) {
        return RecommendationResponse.newBuilder(Fixtures.response("r" + (++requests), user, items))
                .setExperimentId(experiment).setArm(arm).setAdapterVersion(experiment == null ? "base" : arm + "-v1");
    }

    private void respond(RecommendationResponse.Builder r) {
        RecommendationResponse v = r.build();
        responses.pipeInput(v.getUserId(), v);
    }

    private void respond(long user, String experiment, String arm) {
        respond(response(user, experiment, arm, RANKING));
    }

    private void see(long user, long item) {
        interactions.pipeInput(user, interaction(user, item, T0.minusSeconds(86_400 * 365))); // a replayed, historic event
    }

    private void advance(long ms) {
        driver.advanceWallClockTime(Duration.ofMillis(ms));
    }

    /** Reads what was published since the last call into {@link #latest}; returns those records. */
    private List<KeyValue<String, ArmMetrics>> published() {
        List<KeyValue<String, ArmMetrics>> out = metrics.readKeyValuesToList();
        for (KeyValue<String, ArmMetrics> kv : out) {
            assertThat(kv.key).isEqualTo(Topics.armKey(kv.value.getExperimentId(), kv.value.getArm()));
            latest.put(kv.key + "@" + kv.value.getWindowStart().toEpochMilli(), kv.value);
        }
        return out;
    }

    private ArmMetrics window(String experiment, String arm) {
        published();
        List<ArmMetrics> found = latest.values().stream()
                .filter(m -> m.getExperimentId().equals(experiment) && m.getArm().equals(arm)).toList();
        assertThat(found).as("windows of %s/%s", experiment, arm).hasSize(1);
        return found.get(0);
    }

    private static double ndcg(int rank) {
        return 1 / (Math.log(rank + 1) / Math.log(2));
    }

    // ---- tests ----

    @Test
    void rankOfTheNextItemGivesHitsAndNdcg() {
        start();
        long[] next = {10, 14, 15, 99}; // ranks 1, 5, 6, absent
        for (int u = 0; u < next.length; u++) respond(u, "exp1", "candidate");
        for (int u = 0; u < next.length; u++) see(u, next[u]);
        advance(EMIT_MS);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getServed()).isEqualTo(4);
        assertThat(m.getOutcomes()).isEqualTo(4);
        assertThat(m.getHitsAt1()).isEqualTo(1);
        assertThat(m.getHitsAt5()).isEqualTo(2);
        assertThat(m.getNdcgSum()).isCloseTo(1 + ndcg(5) + ndcg(6), within(1e-9));
        assertThat(ndcg(6)).isCloseTo(1 / 2.807354922, within(1e-6));
        assertThat(m.getMissingOutcomes()).isZero();
        assertThat(m.getAdapterVersion()).isEqualTo("candidate-v1");
        assertThat(counters.outcomesJoined.get()).isEqualTo(4);
    }

    @Test
    void onlyAUsersFirstOutcomeCountsInAnExperimentButEveryOneInProduction() {
        start();
        for (int round = 0; round < 3; round++) {
            respond(1, "exp1", "candidate");
            see(1, 10);   // hit@1 each time
            respond(2, null, "control");
            see(2, 10);
        }
        respond(3, "exp1", "candidate");
        see(3, 99);
        advance(EMIT_MS);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getServed()).isEqualTo(4);
        assertThat(m.getOutcomes()).as("user 1 once, user 3 once").isEqualTo(2);
        assertThat(m.getHitsAt1()).isEqualTo(1);
        assertThat(counters.outcomesCapped.get()).isEqualTo(2);
        assertThat(window(OutcomeTopology.PRODUCTION, OutcomeTopology.CONTROL).getOutcomes()).isEqualTo(3);
    }

    @Test
    void withoutACapEveryOutcomeCounts() {
        start(Map.of("outcome.max-per-user", "0"));
        for (int round = 0; round < 3; round++) {
            respond(1, "exp1", "candidate");
            see(1, 10);
        }
        advance(EMIT_MS);
        assertThat(window("exp1", "candidate").getOutcomes()).isEqualTo(3);
    }

    @Test
    void armsAndExperimentsAreKeptApartAndNoExperimentIsProduction() {
        start();
        respond(1, "exp1", "control");
        respond(2, "exp1", "candidate");
        respond(3, "exp1", "candidate");
        respond(4, "exp2", "control");
        respond(5, null, "control");
        see(1, 10); // exp1/control: hit@1
        see(2, 12); // exp1/candidate: rank 3
        see(4, 11); // exp2/control: rank 2
        see(5, 10); // production: hit@1
        advance(EMIT_MS);
        assertThat(published()).extracting(kv -> kv.key)
                .containsExactlyInAnyOrder("exp1/control", "exp1/candidate", "exp2/control", "production/control");
        assertThat(window("exp1", "control").getHitsAt1()).isEqualTo(1);
        ArmMetrics candidate = window("exp1", "candidate");
        assertThat(candidate.getServed()).isEqualTo(2);
        assertThat(candidate.getOutcomes()).isEqualTo(1);
        assertThat(candidate.getHitsAt1()).isZero();
        assertThat(candidate.getNdcgSum()).isCloseTo(ndcg(3), within(1e-9));
        assertThat(window("exp2", "control").getNdcgSum()).isCloseTo(ndcg(2), within(1e-9));
        ArmMetrics production = window(OutcomeTopology.PRODUCTION, OutcomeTopology.CONTROL);
        assertThat(production.getServed()).isEqualTo(1);
        assertThat(production.getHitsAt1()).isEqualTo(1);
        assertThat(production.getAdapterVersion()).isEqualTo("base");
    }

    @Test
    void errorResponsesAreServedAndErrorsButWaitForNothing() {
        start();
        respond(1, "exp1", "candidate"); // waits
        for (ResponseStatus s : List.of(ResponseStatus.ERROR, ResponseStatus.INVALID_REQUEST, ResponseStatus.TIMEOUT)) {
            respond(response(1, "exp1", "candidate").setStatus(s).setItems(List.of()));
            respond(response(2, "exp1", "candidate").setStatus(s).setItems(List.of()));
        }
        respond(response(3, "exp1", "candidate", RANKING).setStatus(ResponseStatus.FALLBACK));
        see(1, 11); // the outcome of user 1's OK list, which the error responses did not replace
        see(2, 10); // nothing waits for user 2
        see(3, 10); // a FALLBACK list is awaited like an OK one
        advance(2 * WINDOW_MS + EMIT_MS);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getServed()).isEqualTo(8);
        assertThat(m.getErrors()).isEqualTo(6);
        assertThat(m.getOutcomes()).isEqualTo(2);
        assertThat(m.getHitsAt1()).isEqualTo(1);
        assertThat(m.getNdcgSum()).isCloseTo(1 + ndcg(2), within(1e-9));
        assertThat(m.getMissingOutcomes()).isZero();
        assertThat(counters.outcomeUnmatchedInteractions.get()).isEqualTo(1);
    }

    @Test
    void aWindowClosingWithoutInteractionCountsMissingAndALaterInteractionLate() {
        start();
        respond(1, "exp1", "candidate");
        respond(2, "exp1", "candidate");
        respond(3, "exp1", "candidate");
        advance(WINDOW_MS - 1);
        see(3, 10); // just in time
        advance(EMIT_MS + 1); // the deadline passed and the expiry ran
        advance(EMIT_MS); // and the aggregate it changed was published
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getOutcomes()).isEqualTo(1);
        assertThat(m.getMissingOutcomes()).isEqualTo(2);
        assertThat(m.getLateOutcomes()).isZero();

        see(1, 10); // within one more window: late, not an outcome
        advance(WINDOW_MS + EMIT_MS);
        see(2, 10); // after that the response is forgotten
        advance(EMIT_MS);
        m = window("exp1", "candidate");
        assertThat(m.getOutcomes()).isEqualTo(1);
        assertThat(m.getHitsAt1()).isEqualTo(1);
        assertThat(m.getMissingOutcomes()).isEqualTo(2);
        assertThat(m.getLateOutcomes()).isEqualTo(1);
        assertThat(counters.outcomeUnmatchedInteractions.get()).isEqualTo(1);
    }

    @Test
    void anInteractionAfterTheDeadlineIsLateEvenBeforeTheExpiryRan() {
        // the expiry runs every 50 s, the outcome window is 1 s: the interaction checks the deadline itself
        start(Map.of("outcome.window.ms", "1000", "outcome.emit.interval.ms", "50000"));
        respond(1, "exp1", "candidate");
        advance(2_000);
        see(1, 10);
        advance(50_000);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getOutcomes()).isZero();
        assertThat(m.getMissingOutcomes()).isEqualTo(1);
        assertThat(m.getLateOutcomes()).isEqualTo(1);
    }

    @Test
    void onlyTheLatestWaitingListOfAUserIsJoined() {
        start();
        respond(response(1, "exp1", "candidate", 20, 21, 22));
        respond(response(1, "exp1", "candidate", 22, 21, 20));
        see(1, 22);
        advance(2 * WINDOW_MS + EMIT_MS);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getServed()).isEqualTo(2);
        assertThat(m.getOutcomes()).isEqualTo(1);
        assertThat(m.getHitsAt1()).isEqualTo(1); // rank 1 in the second list, rank 3 in the first
        assertThat(m.getMissingOutcomes()).isZero();
        assertThat(counters.outcomesSuperseded.get()).isEqualTo(1);
    }

    @Test
    void latencyHistogramAndSumCoverEveryServedResponse() {
        start();
        long[] latencies = {150, 150, 5_000, 2_000_000, 1_000_000_000L};
        LatencyHistogram expected = new LatencyHistogram();
        for (int i = 0; i < latencies.length; i++) {
            RecommendationResponse.Builder r = response(i, "exp1", "candidate", RANKING).setLatencyMicros(latencies[i]);
            if (i == 3) r.setStatus(ResponseStatus.ERROR).setItems(List.of());
            respond(r);
            expected.record(latencies[i]);
        }
        advance(EMIT_MS);
        ArmMetrics m = window("exp1", "candidate");
        assertThat(m.getLatencyMicrosSum()).isEqualTo(1_002_005_300L);
        assertThat(m.getLatencyBoundsMicros()).isEqualTo(expected.boundsList());
        assertThat(m.getLatencyCounts()).isEqualTo(expected.countsList());
        LatencyHistogram read = LatencyHistogram.of(m.getLatencyBoundsMicros(), m.getLatencyCounts());
        assertThat(read.count()).isEqualTo(5);
        assertThat(read.countAbove(100_000_000)).as("slower than every bound").isEqualTo(1);
        assertThat(read.quantileMicros(0.4)).isBetween(150L, 200L);
    }

    @Test
    void changedWindowsArePublishedAsRunningTotalsOnThePunctuator() {
        start();
        respond(1, "exp1", "candidate");
        assertThat(published()).as("nothing before the punctuator").isEmpty();
        advance(EMIT_MS);
        List<KeyValue<String, ArmMetrics>> first = published();
        assertThat(first).hasSize(1);
        ArmMetrics m = first.get(0).value;
        assertThat(m.getWindowStart()).isEqualTo(T0);
        assertThat(m.getWindowEnd()).isEqualTo(T0.plusSeconds(60));
        assertThat(m.getServed()).isEqualTo(1);
        assertThat(m.getUpdatedAt()).isEqualTo(T0.plusMillis(EMIT_MS));

        respond(2, "exp1", "candidate");
        see(1, 10);
        advance(EMIT_MS);
        List<KeyValue<String, ArmMetrics>> second = published();
        assertThat(second).hasSize(1);
        assertThat(second.get(0).value.getServed()).as("the full aggregate, not the increment").isEqualTo(2);
        assertThat(second.get(0).value.getOutcomes()).isEqualTo(1);

        advance(EMIT_MS);
        assertThat(published()).as("an unchanged window is not republished").isEmpty();

        // a response of the next minute opens a second window; only that one changed
        respond(response(3, "exp1", "candidate", RANKING).setRespondedAt(T0.plusSeconds(61)));
        advance(EMIT_MS);
        List<KeyValue<String, ArmMetrics>> third = published();
        assertThat(third).hasSize(1);
        assertThat(third.get(0).value.getWindowStart()).isEqualTo(T0.plusSeconds(60));
        assertThat(third.get(0).value.getServed()).isEqualTo(1);
        // a consumer summing the latest record of each window sees every response once
        assertThat(latest.values().stream().mapToLong(ArmMetrics::getServed).sum()).isEqualTo(3);
    }

    @Test
    void updatesForWindowsBeyondRetentionAreCountedAndDropped() {
        start(Map.of("outcome.metrics.retention.ms", "3600000"));
        respond(response(1, "exp1", "candidate", RANKING).setRespondedAt(T0.minus(Duration.ofHours(2))));
        advance(EMIT_MS);
        assertThat(published()).isEmpty();
        assertThat(counters.outcomeExpiredWindowUpdates.get()).isEqualTo(1);
    }

    @Test
    void unusableResponsesAreDeadLetteredAndBadInteractionBytesLeftToTheUserStateApplication() {
        start();
        RecommendationResponse wrongKey = response(1, "exp1", "candidate", RANKING).build();
        responses.pipeInput(2L, wrongKey);
        respond(response(3, "exp1", "", RANKING));
        TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(topics.recResponses().name(),
                new ByteArraySerializer(), new ByteArraySerializer());
        raw.pipeInput(new byte[] {1}, "not avro".getBytes(StandardCharsets.UTF_8));
        TestInputTopic<byte[], byte[]> rawInteractions = driver.createInputTopic(topics.interactions().name(),
                new ByteArraySerializer(), new ByteArraySerializer());
        rawInteractions.pipeInput(new byte[] {1}, "not avro either".getBytes(StandardCharsets.UTF_8));
        interactions.pipeInput(4L, interaction(5, 10, T0)); // invalid: user-state dead-letters it, skipped here

        // TopologyTestDriver does not collect the records a DeserializationExceptionHandler returns
        // (KIP-1034): the undeserializable response is seen in the counters, DeadLetterHandlerTest
        // checks the handler's records and OutcomeIT sees them on a real broker
        List<DeadLetter> letters = deadLetter.readValuesToList();
        assertThat(letters).extracting(DeadLetter::getError).containsExactly(
                "key 2 does not match userId 1", "response r2 has no arm");
        assertThat(counters.undeserializable.get()).isEqualTo(1);
        assertThat(letters).allSatisfy(l -> {
            assertThat(l.getTopic()).isEqualTo(topics.recResponses().name());
            assertThat(l.getSource()).startsWith(OutcomeTopology.DEAD_LETTER_SOURCE + "/");
        });
        assertThat(counters.undeserializableSkipped.get()).isEqualTo(1);
        assertThat(counters.outcomeSkippedInteractions.get()).isEqualTo(1);
        advance(EMIT_MS);
        assertThat(published()).isEmpty();
    }

    @Test
    void retentionShorterThanTwoOutcomeWindowsIsRejected() {
        assertThatThrownBy(() -> UserStateConfig.defaults().with(Map.of(
                "outcome.window.ms", "1800000", "outcome.metrics.retention.ms", "3000000")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outcome.metrics.retention.ms=3000000 must be at least 2 x outcome.window.ms (3600000)");
        assertThatThrownBy(() -> UserStateConfig.defaults().with(Map.of("outcome.window.ms", "10")))
                .hasMessageContaining("outcome.window.ms=10 is out of range 1000..86400000");
    }

    @Test
    void responsesAndInteractionsAreDeclaredCoPartitioned() {
        Topics t = TestRegistry.freshTopics();
        assertThat(t.recResponses().partitions()).isEqualTo(t.interactions().partitions());
    }

    @Test
    void ndcgOfOneRelevantItem() {
        assertThat(Delta.ndcg(1)).isEqualTo(1.0);
        assertThat(Delta.ndcg(3)).isCloseTo(0.5, within(1e-12));
        assertThat(Delta.ndcg(0)).isZero();
        assertThat(Delta.rankOf(RANKING, 13)).isEqualTo(4);
        assertThat(Delta.rankOf(RANKING, 7)).isZero();
        assertThat(Instant.ofEpochMilli(OutcomeProcessor.armOf(Fixtures.response("r", 1, 1), 60_000).windowStart()))
                .isEqualTo(T0);
    }
}
