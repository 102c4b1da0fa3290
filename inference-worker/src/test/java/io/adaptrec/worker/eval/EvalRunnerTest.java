package io.adaptrec.worker.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalRunnerTest {

    private static final EvalConfig THREE_SEEDS = new EvalConfig(List.of(1L, 2L, 3L), Stage.TEST, true, true, 16, false);

    private static SyntheticGenerator generator;
    private static Split loo;
    private static Split llara;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @BeforeAll
    static void split() {
        generator = new SyntheticGenerator(Fixtures.SYNTHETIC);
        Dataset data = generator.dataset();
        loo = Split.create(data, Protocol.LOO);
        llara = Split.create(data, Protocol.LLARA);
    }

    private EvalReport run(Split split, EvalConfig config, Map<String, RecommenderFactory> factories) throws Exception {
        return new EvalRunner(config, new PrintStream(printed, true, StandardCharsets.UTF_8)).run(split, factories);
    }

    /** Scores by a fixed function of the candidate and remembers every candidate list it saw. */
    private static final class Recording implements Recommender, AutoCloseable {
        final String name;
        final java.util.function.ToDoubleFunction<Long> scorer;
        final List<List<Long>> seen = new ArrayList<>();
        boolean closed;

        Recording(String name, java.util.function.ToDoubleFunction<Long> scorer) {
            this.name = name;
            this.scorer = scorer;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public float[][] score(List<Query> queries) {
            float[][] out = new float[queries.size()][];
            for (int q = 0; q < out.length; q++) {
                long[] c = queries.get(q).candidates();
                seen.add(Arrays.stream(c).boxed().toList());
                out[q] = new float[c.length];
                for (int i = 0; i < c.length; i++) {
                    out[q][i] = (float) scorer.applyAsDouble(c[i]);
                }
            }
            return out;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void everyVariantSeesTheSameCandidatesAndFactoriesTrainOncePerSeed() throws Exception {
        List<Recording> made = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("twins", (data, seed) -> {
            calls.incrementAndGet();
            assertThat(data.seed()).isEqualTo(seed);
            Recording a = new Recording("a", i -> i);
            Recording b = new Recording("b", i -> -i);
            made.add(a);
            made.add(b);
            return List.of(a, b);
        });
        factories.put("solo", (data, seed) -> {
            Recording c = new Recording("c", i -> i % 7);
            made.add(c);
            return List.of(c);
        });
        EvalReport report = run(llara, THREE_SEEDS, factories);
        assertThat(calls).hasValue(3);
        assertThat(report.variants()).extracting(EvalReport.VariantResult::name).containsExactly("a", "b", "c");
        for (int seed = 0; seed < 3; seed++) {
            List<List<Long>> reference = made.get(3 * seed).seen;
            assertThat(reference).hasSize(llara.holdouts(Stage.TEST).size());
            assertThat(made.get(3 * seed + 1).seen).isEqualTo(reference);
            assertThat(made.get(3 * seed + 2).seen).isEqualTo(reference);
        }
        assertThat(made).allMatch(r -> r.closed);
    }

    @Test
    void withoutRetrainingOneModelIsScoredOnEverySeed() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Map<String, RecommenderFactory> factories = Map.of("once", (data, seed) -> {
            calls.incrementAndGet();
            return List.of(PopularRecommender.fit(data.sequences()));
        });
        EvalReport report = run(loo, THREE_SEEDS.withRetrainPerSeed(false), factories);
        assertThat(calls).hasValue(1);
        assertThat(report.variant("popular").perSeed()).extracting(EvalReport.SeedResult::seed).containsExactly(1L, 2L, 3L);
        assertThat(report.variant("popular").std(EvalReport.HR10_FULL)).isZero();
    }

    @Test
    void constantAndNanScorersGetNoCreditFromTies() throws Exception {
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("constant", (d, s) -> List.of(new Recording("constant", i -> 1.0)));
        factories.put("nan", (d, s) -> List.of(new Recording("nan", i -> i % 2 == 0 ? Double.NaN : 1.0)));
        EvalReport report = run(llara, THREE_SEEDS, factories);
        EvalReport.VariantResult constant = report.variant("constant");
        assertThat(constant.mean(EvalReport.HR1)).isZero();
        assertThat(constant.mean(EvalReport.NDCG5)).isZero();
        assertThat(constant.mean(EvalReport.NDCG20)).isCloseTo(1 / (Math.log(21) / Math.log(2)), within(1e-12));
        assertThat(constant.mean(EvalReport.VALID)).isEqualTo(1.0);
        EvalReport.VariantResult nan = report.variant("nan");
        assertThat(nan.mean(EvalReport.VALID)).isZero(); // 20 candidates always include an even id here
        assertThat(nan.mean(EvalReport.NDCG20)).isZero();
    }

    @Test
    void thePlantedSuccessorBeatsPopularityByFar() throws Exception {
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("popular", PopularRecommender.factory());
        factories.put("oracle", (data, seed) -> {
            PopularRecommender popular = PopularRecommender.fit(data.sequences());
            return List.of(new Recommender() {
                @Override
                public String name() {
                    return "successor-oracle";
                }

                @Override
                public float[][] score(List<Query> queries) {
                    float[][] scores = popular.score(queries);
                    for (int q = 0; q < scores.length; q++) {
                        long[] h = queries.get(q).history();
                        long next = generator.successorOf(h[h.length - 1]);
                        long[] c = queries.get(q).candidates();
                        for (int i = 0; i < c.length; i++) {
                            scores[q][i] += c[i] == next ? 1e6f : 0f;
                        }
                    }
                    return scores;
                }
            });
        });
        EvalReport report = run(loo, THREE_SEEDS, factories);
        double popular = report.variant("popular").mean(EvalReport.HR1);
        double oracle = report.variant("successor-oracle").mean(EvalReport.HR1);
        assertThat(oracle).isGreaterThan(0.5).isGreaterThan(popular + 0.25);
        assertThat(report.variant("successor-oracle").mean(EvalReport.HR10_FULL)).as("n/a: not opted in").isNull();
        assertThat(report.variant("popular").mean(EvalReport.HR10_FULL)).isNotNull();
    }

    @Test
    void writesTheJsonReportAndPrintsATable(@TempDir Path dir) throws Exception {
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("popular", PopularRecommender.factory());
        factories.put("constant", (d, s) -> List.of(new Recording("constant", i -> 0.0)));
        EvalReport report = run(loo, new EvalConfig(List.of(5L, 6L), Stage.TEST, true, true, 64, false), factories);
        Path file = dir.resolve("nested/report.json");
        report.writeJson(file);
        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertThat(json.get("dataset").asText()).isEqualTo("synthetic-s11");
        assertThat(json.get("protocol").asText()).isEqualTo("loo");
        assertThat(json.get("seeds").asInt()).isEqualTo(2);
        assertThat(json.get("test_users").asInt()).isEqualTo(loo.holdouts(Stage.TEST).size()).isEqualTo(200);
        assertThat(json.get("train_seconds").isNumber()).isTrue();
        JsonNode popular = json.get("variants").get("popular");
        assertThat(popular.get("hr@1").asDouble()).isCloseTo(report.variant("popular").mean(EvalReport.HR1), within(1e-12));
        for (String key : List.of("hr@1_std", "ndcg@5", "ndcg@20", "valid_ratio", "hr@10_full", "ndcg@10_full")) {
            assertThat(popular.get(key).isNumber()).as(key).isTrue();
        }
        assertThat(popular.get("per_seed")).hasSize(2);
        assertThat(json.get("variants").get("constant").get("hr@10_full").isNull()).isTrue();
        assertThat(json.get("machine").get("cores").asInt()).isPositive();
        assertThat(json.get("retrained_per_seed").asBoolean()).isTrue();
        JsonNode pair = json.get("paired").get("popular - constant").get("hr@1");
        EvalReport.VariantResult pop = report.variant("popular");
        assertThat(pair.get("mean").asDouble()).as("constant scores 0 on every seed")
                .isCloseTo(pop.mean(EvalReport.HR1), within(1e-12));
        assertThat(pair.get("per_seed")).hasSize(2);
        assertThat(pair.get("ci95")).hasSize(2);

        String table = printed.toString(StandardCharsets.UTF_8);
        assertThat(table).contains("synthetic-s11 / loo / test: 200 users evaluated, 2 seeds [5, 6]")
                .containsPattern("popular\\s+0\\.\\d{4} ± 0\\.\\d{4}")
                .containsPattern("constant\\s+0\\.0000 ± 0\\.0000.*n/a")
                .contains("paired by seed (one training per seed)")
                .containsPattern("popular - constant\\s+hr@1\\s+\\+0\\.\\d{4} \\[");
    }

    @Test
    void pairedDifferencesHaveAStudentTInterval() {
        EvalReport.VariantResult a = variant("a", 0.50, 0.60, 0.70);
        EvalReport.VariantResult b = variant("b", 0.40, 0.40, 0.40);
        EvalReport.Paired p = EvalReport.Paired.of(a, b, EvalReport.HR1);
        // differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.1 / sqrt(3); t(0.975, 2 df) = 4.302653
        double half = 4.302653 * 0.1 / Math.sqrt(3);
        assertThat(p.perSeed()).hasSize(3);
        assertThat(p.perSeed().get(0)).isCloseTo(0.1, within(1e-12));
        assertThat(p.perSeed().get(2)).isCloseTo(0.3, within(1e-12));
        assertThat(p.mean()).isCloseTo(0.2, within(1e-12));
        assertThat(p.low()).isCloseTo(0.2 - half, within(1e-6));
        assertThat(p.high()).isCloseTo(0.2 + half, within(1e-6));
        assertThat(p.excludesZero()).as("[-0.048, 0.448] holds 0").isFalse();
        EvalReport.Paired clear = EvalReport.Paired.of(variant("a", 0.50, 0.51, 0.52), b, EvalReport.HR1);
        assertThat(clear.excludesZero()).isTrue();
        EvalReport.Paired one = EvalReport.Paired.of(variant("a", 0.5), b, EvalReport.HR1);
        assertThat(one.perSeed()).hasSize(1);
        assertThat(one.low()).as("one seed: no interval").isNull();
        assertThat(EvalReport.Paired.of(a, b, EvalReport.HR10_FULL)).as("n/a metric").isNull();
    }

    private static EvalReport.VariantResult variant(String name, double... hr1) {
        List<EvalReport.SeedResult> seeds = new java.util.ArrayList<>();
        for (int i = 0; i < hr1.length; i++) {
            seeds.add(new EvalReport.SeedResult(i + 1, Map.of(EvalReport.HR1, hr1[i])));
        }
        return new EvalReport.VariantResult(name, "f", seeds, 0, 0);
    }

    @Test
    void aggregatesMeanAndSampleStd() {
        EvalReport.VariantResult v = new EvalReport.VariantResult("x", "f", List.of(
                new EvalReport.SeedResult(1, Map.of(EvalReport.HR1, 0.2)),
                new EvalReport.SeedResult(2, Map.of(EvalReport.HR1, 0.4)),
                new EvalReport.SeedResult(3, Map.of(EvalReport.HR1, 0.6))), 0, 0);
        assertThat(v.mean(EvalReport.HR1)).isCloseTo(0.4, within(1e-12));
        assertThat(v.std(EvalReport.HR1)).isCloseTo(0.2, within(1e-12));
        assertThat(v.mean(EvalReport.HR10_FULL)).isNull();
    }

    @Test
    void duplicateVariantNamesAndEmptyInputsAreRejected() {
        Map<String, RecommenderFactory> twice = new LinkedHashMap<>();
        twice.put("one", PopularRecommender.factory());
        twice.put("two", PopularRecommender.factory());
        assertThatThrownBy(() -> run(llara, THREE_SEEDS, twice))
                .hasMessageContaining("variant name 'popular' (from factory 'two') is used twice");
        assertThatThrownBy(() -> run(llara, THREE_SEEDS, Map.of())).hasMessageContaining("no recommender factories");
        assertThatThrownBy(() -> new EvalConfig(List.of(1L, 1L), Stage.TEST, true, true, 8, false))
                .hasMessageContaining("eval.seeds must be distinct");
    }
}
