package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import io.adaptrec.worker.eval.EvalCase;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.TrainingData;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Strategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sequence expert: a frozen copy of stage A kept next to the prompt model, whose history-only reading every
 * ranking adds with weight w. One small training (synthetic data, loo), shared by the tests.
 */
class SequenceExpertTest {

    private static final float W = 1.5f;
    private static TrainingData data;
    private static RecLMSystem sys;
    private static Map<String, float[]> stageA;
    private static List<AdaptRec.Query> queries;

    @BeforeAll
    static void train() {
        Dataset d = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(3).withSize(40, 40, 12, 20)).dataset();
        Split split = Split.create(d, Protocol.LOO);
        data = split.trainingData(1);
        RecLMConfig mc = new RecLMConfig(16, 1, 1, 256, 0f, true, 4, 8f, false);
        TrainConfig tc = new TrainConfig(7, 3, 20, 1, 1, 2, 16, 3e-3f, 3e-3f, 2, 10, 9, 1f, 0.3f, 0)
                .withSequenceWeight(W);
        Map<String, float[]>[] afterA = new Map[1];
        sys = RecLMSystem.train(data, mc, tc, DemoSelector.Config.defaults(), line -> { }, (stage, epoch, lm) -> {
            if (stage.equals("A") && epoch == tc.seqEpochs()) {
                afterA[0] = RecLMSystem.baseWeights(lm);
            }
        });
        stageA = afterA[0];
        queries = new ArrayList<>();
        for (EvalCase c : split.testCases(1)) {
            queries.add(new AdaptRec.Query(c.query().userId(), c.query().history(), c.query().candidates()));
        }
    }

    @Test
    void theExpertIsStageAFrozenWhileThePromptModelWentOnTraining() {
        LanguageModel expert = sys.model().sequenceExpert();
        assertThat(expert).isNotNull();
        assertThat(sys.model().sequenceWeight()).isEqualTo(W);
        Map<String, float[]> kept = RecLMSystem.baseWeights(expert);
        Map<String, float[]> prompt = RecLMSystem.baseWeights(sys.model());
        for (String name : stageA.keySet()) {
            assertThat(kept.get(name)).as(name).containsExactly(stageA.get(name));
        }
        assertThat(prompt.get("wte")).as("stage B trained the prompt model's base").isNotEqualTo(stageA.get("wte"));
        assertThat(expert.net().getParameters().values()).allSatisfy(p -> assertThat(p.requiresGradient()).isFalse());
    }

    @Test
    void aRankingIsThePromptsLogProbabilitiesPlusWTimesTheExpertsRenormalised() {
        LanguageModel lm = sys.model();
        List<AdaptRec.Recommendation> recs = sys.recommend(queries, Strategy.NONE, 0);
        PromptTemplate template = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        int[] prefix = RecLMSystem.sequencePrefix(lm.vocabulary());
        List<Prompt> prompts = new ArrayList<>();
        List<Prompt> sequences = new ArrayList<>();
        List<long[]> cands = new ArrayList<>();
        for (AdaptRec.Query q : queries) {
            long[] recent = AdaptRec.recent(q.history(), sys.core().historyLen());
            prompts.add(template.render(lm.vocabulary(), List.of(), recent, q.candidates()));
            sequences.add(Prompt.sequence(prefix, lm.vocabulary(), recent, sys.core().historyLen()));
            cands.add(q.candidates());
        }
        float[][] p = lm.scoreCandidates(prompts, cands);
        float[][] s = lm.sequenceExpert().scoreCandidates(sequences, cands);
        float[][] alone = sys.core().sequenceOnly(queries);
        for (int i = 0; i < s.length; i++) {
            assertThat(alone[i]).as("the 'sequence' variant is the expert's reading, query %d", i).containsExactly(s[i]);
        }
        assertThat(RecLMSystem.Variant.parse("sequence", 5).sequenceOnly()).isTrue();
        assertThat(RecLMSystem.Variant.isRecLM("sequence")).isTrue();
        int differ = 0;
        for (int i = 0; i < recs.size(); i++) {
            float[] got = recs.get(i).scores();
            double lse = 0;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < got.length; j++) {
                max = Math.max(max, p[i][j] + W * s[i][j]);
            }
            for (int j = 0; j < got.length; j++) {
                lse += Math.exp(p[i][j] + W * s[i][j] - max);
            }
            lse = max + Math.log(lse);
            double mass = 0;
            for (int j = 0; j < got.length; j++) {
                assertThat((double) got[j]).as("query %d candidate %d", i, j).isCloseTo(p[i][j] + W * s[i][j] - lse, within(1e-4));
                mass += Math.exp(got[j]);
            }
            assertThat(mass).as("log-probabilities over the candidates").isCloseTo(1.0, within(1e-4));
            if (Math.abs(got[0] - p[i][0]) > 1e-3) {
                differ++;
            }
        }
        assertThat(differ).as("the expert changes the scores").isPositive();
    }

    @Test
    void theModelDirectoryCarriesTheExpertAndBothEnginesRankTheSame(@TempDir Path dir) throws Exception {
        sys.save(dir, "v1", Map.of());
        assertThat(dir.resolve(RecLMSystem.SEQUENCE_EXPERT).resolve(RecLMSystem.FUSION_JSON)).isRegularFile();
        List<AdaptRec.Recommendation> before = sys.recommend(queries, Strategy.ADAPTIVE, 2);
        try (RecLMSystem loaded = RecLMSystem.load(dir, data, sys.core().historyLen())) {
            assertThat(loaded.model().sequenceWeight()).isEqualTo(W);
            List<AdaptRec.Recommendation> after = loaded.recommend(queries, Strategy.ADAPTIVE, 2);
            for (int i = 0; i < before.size(); i++) {
                assertThat(after.get(i).scores()).as("query %d after a reload", i).containsExactly(before.get(i).scores(), within(1e-5f));
            }
            loaded.model().useEngine(EngineOptions.parse("onnxruntime", "cpu", 1));
            assertThat(loaded.model().awaitEngine(Duration.ofMinutes(2))).isTrue();
            assertThat(loaded.model().sequenceExpert().engineInUse()).isEqualTo(OnnxRuntimeScorer.ENGINE);
            List<AdaptRec.Recommendation> onnx = loaded.recommend(queries, Strategy.ADAPTIVE, 2);
            for (int i = 0; i < before.size(); i++) {
                assertThat(onnx.get(i).scores()).as("query %d on ONNX Runtime", i).containsExactly(before.get(i).scores(), within(1e-3f));
            }
        }
    }

    @Test
    void withoutAWeightThereIsNoExpertAndABadOneIsRefused(@TempDir Path dir) throws Exception {
        assertThat(TrainConfig.defaults().sequenceWeight()).as("the default, chosen on validation").isEqualTo(2f);
        TrainConfig off = TrainConfig.defaults().withSequenceWeight(0f);
        assertThat(off.sequenceWeight()).isZero();
        assertThatThrownBy(() -> off.withSequenceWeight(-1f)).hasMessageContaining("sequenceWeight must be in [0, 100]");
        LanguageModel plain = RecLMSystem.copyOf(data, sys.model().config(), 1, stageA);
        try (RecLMSystem without = new RecLMSystem(plain, RecLMSystem.sequences(data), DemoSelector.Config.defaults(), 10)) {
            assertThat(plain.sequenceExpert()).isNull();
            assertThat(plain.sequenceWeight()).isZero();
            assertThatThrownBy(() -> without.core().sequenceOnly(queries)).hasMessageContaining("--sequence-weight");
            assertThatThrownBy(() -> plain.attachSequenceExpert(plain, 0f)).hasMessageContaining("(0, 100]");
            without.save(dir, "v1", Map.of());
            assertThat(Files.exists(dir.resolve(RecLMSystem.SEQUENCE_EXPERT))).isFalse();
            try (LanguageModel loaded = RecLMSystem.loadModel(dir)) {
                assertThat(loaded.sequenceExpert()).isNull();
            }
        }
    }
}
