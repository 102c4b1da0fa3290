package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.nn.Parameter;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.OfflineNeighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import io.adaptrec.worker.selection.Strategy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LanguageModelTest {

    @TempDir
    Path dir;

    private final Vocabulary vocab = Fixtures.vocabulary();
    private final PromptTemplate template = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);

    private List<Prompt> prompts(int n) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(template.render(vocab, List.of(new Demonstration(1, new long[] {1 + i % 7, 2}, 3)),
                    new long[] {5 + i % 11, 6}, candidates(i)));
        }
        return out;
    }

    private static long[] candidates(int i) {
        return new long[] {10 + i % 5, 20, 30, 40, 50};
    }

    private static List<long[]> candidateLists(int n) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(candidates(i));
        }
        return out;
    }

    @Test
    void constrainedScoringCoversExactlyTheCandidatesAsADistribution() {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 1)) {
            float[][] s = lm.scoreCandidates(prompts(3), candidateLists(3));
            for (float[] row : s) {
                assertThat(row).hasSize(5);
                double sum = 0;
                for (float x : row) {
                    sum += Math.exp(x);
                }
                assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            }
            // batching (and length-sorting inside it) must not change a prompt's scores
            float[][] alone = lm.scoreCandidates(prompts(3).subList(2, 3), candidateLists(3).subList(2, 3));
            assertThat(alone[0]).containsExactly(s[2], org.assertj.core.data.Offset.offset(1e-5f));
            // the ranking a caller derives is a permutation of the candidates, best first
            List<Long> ranked = Ranking.rank(candidates(2), s[2]);
            assertThat(ranked).containsExactlyInAnyOrder(12L, 20L, 30L, 40L, 50L);
            for (int i = 1; i < ranked.size(); i++) {
                assertThat(scoreOf(ranked.get(i - 1), s[2])).isGreaterThanOrEqualTo(scoreOf(ranked.get(i), s[2]));
            }
        }
    }

    @Test
    void rowsMayHaveDifferentCandidateCountsAndUnknownItemsRankLast() {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 6)) {
            List<long[]> cands = List.of(new long[] {1, 2, 3}, new long[] {4, 5, 6, 7, 999});
            float[][] s = lm.scoreCandidates(prompts(2), cands);
            assertThat(s[0]).hasSize(3);
            assertThat(s[1]).hasSize(5);
            assertThat(s[1][4]).isLessThan(-1e20f);   // item 999 is not in the catalogue
            double sum = 0;
            for (float x : s[0]) {
                sum += Math.exp(x);
            }
            assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    private static float scoreOf(long item, float[] row) {
        long[] c = candidates(2);
        for (int j = 0; j < c.length; j++) {
            if (c[j] == item) {
                return row[j];
            }
        }
        throw new AssertionError();
    }

    @Test
    void loraTrainingLeavesTheBaseBitIdenticalAndMovesTheAdapter() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 2)) {
            Map<String, float[]> before = snapshot(lm.parameters(false));
            new RecLMTrainer(Fixtures.tinyTraining(), s -> { }).trainPrompts(lm, seqs, template, offline(lm, seqs),
                    selector(lm),
                    Strategy.SIMILARITY, true, 1);
            Map<String, float[]> after = snapshot(lm.parameters(false));
            for (String k : before.keySet()) {
                assertThat(after.get(k)).as(k).containsExactly(before.get(k));
            }
            assertThat(lm.parameters(true).values().stream().filter(p -> p.getName().endsWith("_B"))
                    .anyMatch(p -> p.getArray().abs().sum().getFloat() > 0)).isTrue();
        }
    }

    @Test
    void adapterSaveLoadAndSwapGiveIdenticalScores() throws IOException {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        List<Prompt> ps = prompts(6);
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 3)) {
            float[][] base = lm.scoreCandidates(ps, candidateLists(6));
            new RecLMTrainer(Fixtures.tinyTraining(), s -> { }).trainPrompts(lm, seqs, template,
                    offline(lm, seqs), selector(lm), Strategy.SIMILARITY, true, 1);
            float[][] tuned = lm.scoreCandidates(ps, candidateLists(6));
            assertThat(tuned[0]).isNotEqualTo(base[0]);
            AdapterStore.Manifest m = AdapterStore.save(lm, dir.resolve("adapters"), "v1", Map.of("hr@1", 0.5));
            lm.saveBase(dir);
            assertThat(m.sha256()).hasSize(64);
            assertThat(m.baseModel()).isEqualTo(AdapterStore.baseModelId(lm));

            AdapterStore.reset(lm);                      // identity adapter: back to the base scores
            assertThat(lm.scoreCandidates(ps, candidateLists(6))[0]).containsExactly(base[0]);
            AdapterStore.load(lm, dir.resolve("adapters/v1"));   // hot swap in place
            assertThat(lm.scoreCandidates(ps, candidateLists(6))[0]).containsExactly(tuned[0]);

            try (LanguageModel fresh = LanguageModel.loadBase(dir)) {   // a new process would do this
                assertThat(fresh.scoreCandidates(ps, candidateLists(6))[0]).containsExactly(base[0]);
                AdapterStore.load(fresh, dir.resolve("adapters/v1"));
                for (int i = 0; i < ps.size(); i++) {
                    assertThat(fresh.scoreCandidates(ps, candidateLists(6))[i]).containsExactly(tuned[i]);
                }
            }
        }
    }

    @Test
    void pretrainedItemTextVectorsEnterTheItemRowsAndSurviveSaveAndLoad() throws IOException {
        Vocabulary withVectors = vocab.withItemVectors(Fixtures.catalogue());
        assertThat(withVectors.itemVectorDim()).isEqualTo(ItemTextEncoder.DIM);
        RecLMConfig cfg = Fixtures.tinyConfig().withTextDim(ItemTextEncoder.DIM);
        assertThatThrownBy(() -> LanguageModel.create(cfg, vocab, 3))
                .hasMessage("the model takes item text vectors of 384 dimensions, the vocabulary has none");
        assertThatThrownBy(() -> cfg.withTextDim(-1)).hasMessageContaining("textDim");
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        List<Prompt> ps = prompts(6);
        try (LanguageModel plain = LanguageModel.create(Fixtures.tinyConfig(), vocab, 3);
             LanguageModel lm = LanguageModel.create(cfg, withVectors, 3)) {
            assertThat(lm.parameters(false)).containsKey("text_proj");
            assertThat(plain.parameters(false)).doesNotContainKey("text_proj");
            new RecLMTrainer(Fixtures.tinyTraining(), s -> { }).trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 1, 3e-3f);
            float[][] scores = lm.scoreCandidates(ps, candidateLists(6));
            lm.saveBase(dir);
            assertThat(dir.resolve(Vocabulary.VECTORS)).isRegularFile();
            try (LanguageModel fresh = LanguageModel.loadBase(dir)) {
                assertThat(fresh.config().textDim()).isEqualTo(ItemTextEncoder.DIM);
                assertThat(fresh.vocabulary().itemVector(0)).containsExactly(withVectors.itemVector(0));
                for (int i = 0; i < ps.size(); i++) {
                    assertThat(fresh.scoreCandidates(ps, candidateLists(6))[i]).containsExactly(scores[i]);
                }
            }

            // An item added after training with no word the vocabulary knows: a text-vector model still reads it.
            Dataset.Item unseen = new Dataset.Item(777_777, "Zyzzogeton Quokka", List.of());
            NewItem viaVector = lm.newItem(unseen);
            assertThat(viaVector.words()).isEmpty();
            assertThat(viaVector.textVector()).hasSize(ItemTextEncoder.DIM);
            assertThat(viaVector.scorable()).isTrue();
            assertThat(plain.newItem(unseen).scorable()).as("without text vectors nothing is known of it").isFalse();
            Dataset.Item retitled = new Dataset.Item(777_778, Fixtures.catalogue().get(3).title(), List.of());
            Map<Long, NewItem> news = Map.of(777_777L, viaVector, 777_778L, lm.newItem(retitled));
            List<long[]> withNew = new ArrayList<>();
            for (long[] c : candidateLists(6)) {
                long[] x = Arrays.copyOf(c, c.length + 2);
                x[c.length] = 777_777L;
                x[c.length + 1] = 777_778L;
                withNew.add(x);
            }
            float[][] pt = lm.scoreCandidates(ps, withNew, news);
            for (float[] row : pt) {
                assertThat(row[row.length - 2]).as("new item scored from its vector").isGreaterThan(-1e3f);
                assertThat(row[row.length - 1]).isGreaterThan(-1e3f);
            }
            // the exported graph scores the new items exactly as the network does
            lm.useEngine(EngineOptions.parse("onnxruntime", "cpu", 1));
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!lm.engineInUse().equals("OnnxRuntime")) {
                assertThat(System.nanoTime()).as("exported engine built within 120 s").isLessThan(deadline);
                assertThat(lm.engineBuilds()[1]).as("failed engine builds").isZero();
                lm.scoreCandidates(ps.subList(0, 1), candidateLists(1));
                Thread.onSpinWait();
            }
            float[][] ort = lm.scoreCandidates(ps, withNew, news);
            for (int i = 0; i < ps.size(); i++) {
                assertThat(ort[i]).containsExactly(pt[i], org.assertj.core.data.Offset.offset(1e-3f));
            }
        }
    }

    @Test
    void aTamperedAdapterIsRejectedBeforeItTouchesTheModel() throws IOException {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 4)) {
            AdapterStore.save(lm, dir, "v2", Map.of());
            Path file = dir.resolve("v2").resolve(AdapterStore.FILE);
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length - 1] ^= 1;
            Files.write(file, bytes);
            assertThatThrownBy(() -> AdapterStore.load(lm, dir.resolve("v2"))).hasMessageContaining("sha256");
        }
    }

    @Test
    void thousandsOfPredictionsDoNotGrowNativeMemory() {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            List<Prompt> ps = prompts(64);
            List<long[]> cs = candidateLists(64);
            for (int i = 0; i < 10; i++) {
                lm.scoreCandidates(ps, cs);   // warm up allocator arenas
            }
            long before = rssKb();
            for (int i = 0; i < 60; i++) {      // 3,840 predictions
                lm.scoreCandidates(ps, cs);
                lm.answerLogProb(ps, new long[64]);
            }
            long grown = rssKb() - before;
            assertThat(grown).as("RSS growth in KiB over 3,840 predictions").isLessThan(40_000);
        }
    }

    @Test
    void trainingEpochsLeaveNoArraysBehindInTheModel() {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 6)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining(), line -> { });
            Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
            int[] prefix = RecLMSystem.sequencePrefix(vocab);
            trainer.trainSequences(lm, seqs, prefix, 1, 1e-3f);
            int afterOne = managedArrays(lm);
            trainer.trainSequences(lm, seqs, prefix, 1, 1e-3f);
            int perCall = managedArrays(lm) - afterOne;
            trainer.trainSequences(lm, seqs, prefix, 8, 1e-3f);
            int perEightEpochs = managedArrays(lm) - afterOne - perCall;
            // whatever a trainer keeps (optimiser state) is per call, never per step or epoch
            assertThat(perEightEpochs).as("arrays left in the model's manager by 8 epochs (1 epoch: %d)", perCall)
                    .isLessThanOrEqualTo(perCall);
        }
    }

    @Test
    void equalSeedsTrainBitIdenticalModelsWithDropoutOn() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        RecLMConfig withDropout = Fixtures.tinyConfig().withDropout(0.2f);
        Map<String, float[]> first = trainAll(withDropout, seqs);
        Map<String, float[]> second = trainAll(withDropout, seqs);
        for (String k : first.keySet()) {
            assertThat(second.get(k)).as(k).containsExactly(first.get(k));
        }
    }

    @Test
    void adamBeta2ReachesTheOptimiserAndIsValidated() {
        assertThat(TrainConfig.defaults().adamBeta2()).isEqualTo(0.999f);
        assertThatThrownBy(() -> Fixtures.tinyTraining().withAdamBeta2(1f))
                .hasMessage("adamBeta2 must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> Fixtures.tinyTraining().withAdamBeta2(0f))
                .hasMessage("adamBeta2 must be in (0, 1), got 0.0");
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        float[] plain = trainedPositions(Fixtures.tinyTraining(), seqs);
        float[] again = trainedPositions(Fixtures.tinyTraining(), seqs);
        float[] fast = trainedPositions(Fixtures.tinyTraining().withAdamBeta2(0.5f), seqs);
        double repeat = maxAbsDiff(plain, again);   // run-to-run differences of one setting (see BENCHMARKS)
        double changed = maxAbsDiff(plain, fast);
        for (float v : fast) {
            assertThat(Float.isFinite(v)).isTrue();
        }
        assertThat(changed).as("the optimiser uses beta2 (repeat differs by %s)", repeat)
                .isGreaterThan(10 * repeat + 1e-4);
    }

    /** Position embeddings after two stage-A epochs from a fresh model seeded 8 under {@code tc}. */
    private float[] trainedPositions(TrainConfig tc, Map<Long, long[]> seqs) {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 8)) {
            new RecLMTrainer(tc, line -> { }).trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 2, 3e-3f);
            return snapshot(lm.parameters(false)).get("wpe");
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    /** Stages A, B and C (adaptive re-selection) from a fresh model seeded 9; every parameter after. */
    private Map<String, float[]> trainAll(RecLMConfig cfg, Map<Long, long[]> seqs) {
        try (LanguageModel lm = LanguageModel.create(cfg, vocab, 9)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining(), line -> { });
            trainer.trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 2, 3e-3f);
            trainer.trainPrompts(lm, seqs, template, offline(lm, seqs), selector(lm), Strategy.SIMILARITY, false, 1);
            trainer.trainPrompts(lm, seqs, template, offline(lm, seqs), selector(lm), Strategy.ADAPTIVE, true, 1);
            return snapshot(lm.parameters(true));
        }
    }

    @Test
    void cosineScheduleWarmsUpThenDecaysToATenthAndReachesTheOptimiser() {
        float lr = 1e-2f;
        // 10 steps an epoch, 5 epochs: warm-up over one epoch (a tenth of 50 steps is 5, so 5 steps)
        assertThat(RecLMTrainer.cosine(lr, 0, 50, 5)).isEqualTo(lr / 5);
        assertThat(RecLMTrainer.cosine(lr, 4, 50, 5)).isEqualTo(lr);
        assertThat(RecLMTrainer.cosine(lr, 5, 50, 5)).isEqualTo(lr);
        assertThat((double) RecLMTrainer.cosine(lr, 50, 50, 5)).isCloseTo(lr / 10, within(1e-9));
        assertThat((double) RecLMTrainer.cosine(lr, 30, 55, 5)).isCloseTo((lr + lr / 10) / 2, within(1e-7));
        for (long step = 5; step < 50; step++) {
            assertThat(RecLMTrainer.cosine(lr, step + 1, 50, 5)).isLessThanOrEqualTo(RecLMTrainer.cosine(lr, step, 50, 5));
        }
        TrainConfig cosine = Fixtures.tinyTraining().withLrSchedule("cosine");
        RecLMTrainer trainer = new RecLMTrainer(cosine, line -> { });
        // DJL counts an optimiser's updates from 1; after a rollback the schedule goes on where it was
        assertThat(trainer.scheduled(lr, 10, 5, 0).getNewValue(1)).isEqualTo(lr / 5);
        assertThat(trainer.scheduled(lr, 10, 5, 20).getNewValue(1)).isEqualTo(RecLMTrainer.cosine(lr, 20, 50, 5));
        assertThat(new RecLMTrainer(Fixtures.tinyTraining(), line -> { }).scheduled(lr, 10, 5, 20).getNewValue(1))
                .isEqualTo(lr);
        assertThatThrownBy(() -> Fixtures.tinyTraining().withLrSchedule("linear"))
                .hasMessage("lrSchedule must be fixed or cosine, got 'linear'");

        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        int[] prefix = RecLMSystem.sequencePrefix(vocab);
        try (LanguageModel fixed = LanguageModel.create(Fixtures.tinyConfig(), vocab, 8);
             LanguageModel scheduled = LanguageModel.create(Fixtures.tinyConfig(), vocab, 8)) {
            new RecLMTrainer(Fixtures.tinyTraining(), line -> { }).trainSequences(fixed, seqs, prefix, 2, 3e-3f);
            trainer.trainSequences(scheduled, seqs, prefix, 2, 3e-3f);
            float[] a = snapshot(fixed.parameters(false)).get("wpe");
            float[] b = snapshot(scheduled.parameters(false)).get("wpe");
            assertThat(b).as("the optimiser follows the schedule").isNotEqualTo(a);
            for (float v : b) {
                assertThat(Float.isFinite(v)).isTrue();
            }
        }
    }

    @Test
    void aStageALossSpikeRollsTheWeightsBackToTheLastGoodEpoch() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        int[] prefix = RecLMSystem.sequencePrefix(vocab);
        try (LanguageModel calm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 8);
             LanguageModel wild = LanguageModel.create(Fixtures.tinyConfig(), vocab, 8)) {
            RecLMTrainer normal = new RecLMTrainer(Fixtures.tinyTraining(), line -> { });
            normal.trainSequences(calm, seqs, prefix, 6, 3e-3f);
            assertThat(normal.rollbacks()).as("rollbacks at a sane learning rate").isZero();

            List<Double> losses = new ArrayList<>();
            RecLMTrainer diverging = new RecLMTrainer(Fixtures.tinyTraining(), line -> {
                if (line.contains("stage A epoch") && !line.contains("warning")) {
                    losses.add(Double.parseDouble(line.replaceAll(".*loss ([0-9.]+|NaN|Infinity).*", "$1")));
                }
            });
            diverging.trainSequences(wild, seqs, prefix, 12, 0.9f);   // Adam at lr 0.9 overshoots
            assertThat(diverging.rollbacks()).as("rollbacks at lr 0.9, losses %s", losses).isPositive();
            for (Parameter p : wild.parameters(false).values()) {
                assertThat(RecLMTrainer.finite(p.getArray())).as(p.getName()).isTrue();
            }
        }
    }

    @Test
    void earlyStoppingKeepsTheWeightsOfTheBestValidationEpoch() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining().withPatience(2), line -> { });
            double[] scripted = {1, 3, 2, 2.5, 2, 2, 9};
            List<Map<String, float[]>> seen = new ArrayList<>();
            trainer.trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 7, 3e-3f, model -> {
                seen.add(snapshot(model.parameters(false)));
                return scripted[seen.size() - 1];
            });
            assertThat(seen).as("epochs 3 and 4 did not beat epoch 2: stop after 4").hasSize(4);
            assertThat(trainer.keptEpochs()).isEqualTo(2);
            Map<String, float[]> now = snapshot(lm.parameters(false));
            for (String k : now.keySet()) {
                assertThat(now.get(k)).as(k).containsExactly(seen.get(1).get(k));
            }
        }
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            RecLMTrainer off = new RecLMTrainer(Fixtures.tinyTraining(), line -> { });
            List<Integer> calls = new ArrayList<>();
            off.trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 3, 3e-3f, model -> {
                calls.add(1);
                return 0;
            });
            assertThat(calls).as("patience 0: no validation, every epoch").isEmpty();
            assertThat(off.keptEpochs()).isEqualTo(3);
        }
    }

    @Test
    void weightAveragingKeepsTheMeanOfTheLastEpochsAndValidatesTheMeanWhenStoppingEarly() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        int[] prefix = RecLMSystem.sequencePrefix(vocab);
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining().withAverageEpochs(3), line -> { });
            List<Map<String, float[]>> raw = new ArrayList<>();
            trainer.onEpoch((stage, epoch, model) -> raw.add(snapshot(model.parameters(false))));
            trainer.trainSequences(lm, seqs, prefix, 4, 3e-3f);
            assertThat(raw).hasSize(4);
            assertThat(trainer.keptEpochs()).isEqualTo(4);
            assertMean(snapshot(lm.parameters(false)), raw.subList(1, 4));
        }
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining().withAverageEpochs(2).withPatience(2),
                    line -> { });
            List<Map<String, float[]>> raw = new ArrayList<>();
            List<Map<String, float[]>> validated = new ArrayList<>();
            trainer.onEpoch((stage, epoch, model) -> raw.add(snapshot(model.parameters(false))));
            double[] scripted = {1, 3, 2, 2, 9};
            trainer.trainSequences(lm, seqs, prefix, 5, 3e-3f, model -> {
                validated.add(snapshot(model.parameters(false)));
                return scripted[validated.size() - 1];
            });
            assertThat(validated).as("epochs 3 and 4 did not beat epoch 2: stop after 4").hasSize(4);
            assertThat(validated.get(0).get("wpe")).as("one epoch: nothing to average yet").containsExactly(raw.get(0).get("wpe"));
            assertMean(validated.get(2), raw.subList(1, 3));
            assertMean(snapshot(lm.parameters(false)), raw.subList(0, 2));
            assertThat(trainer.keptEpochs()).isEqualTo(2);
        }
    }

    /** {@code actual} holds, parameter by parameter, the element-wise mean of {@code snapshots}. */
    private static void assertMean(Map<String, float[]> actual, List<Map<String, float[]>> snapshots) {
        for (String k : actual.keySet()) {
            float[] a = actual.get(k);
            for (int i = 0; i < a.length; i++) {
                double sum = 0;
                for (Map<String, float[]> s : snapshots) {
                    sum += s.get(k)[i];
                }
                assertThat((double) a[i]).as("%s[%d]", k, i).isCloseTo(sum / snapshots.size(), within(1e-6));
            }
        }
        assertThat(snapshots.get(0).get("wpe")).as("the epochs differ, so the mean is not any one of them")
                .isNotEqualTo(snapshots.get(snapshots.size() - 1).get("wpe"));
    }

    @Test
    void theValidationLikelihoodRisesAsTheModelLearnsThePlantedHabit() {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        List<io.adaptrec.worker.eval.EvalCase> cases = new ArrayList<>();
        for (long[] s : Fixtures.sequences(20, 12, 99).values()) {
            long target = s[s.length - 1];
            long[] cands = {target, (target + 7) % Fixtures.ITEMS + 1, (target + 23) % Fixtures.ITEMS + 1};
            cases.add(new io.adaptrec.worker.eval.EvalCase(new io.adaptrec.worker.eval.Query(1,
                    java.util.Arrays.copyOf(s, s.length - 1), cands), target));
        }
        int[] prefix = RecLMSystem.sequencePrefix(vocab);
        RecLMTrainer.Validation v = RecLMTrainer.candidateLogLikelihood(cases, prefix, 5);
        assertThat(RecLMTrainer.candidateLogLikelihood(List.of(), prefix, 5)).as("nothing to stop on").isNull();
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 5)) {
            double before = v.score(lm);
            assertThat(before).as("three candidates, untrained").isCloseTo(Math.log(1 / 3.0), within(0.3));
            new RecLMTrainer(Fixtures.tinyTraining(), line -> { }).trainSequences(lm, seqs, prefix, 8, 5e-3f);
            assertThat(v.score(lm)).as("after learning next = last + 1").isGreaterThan(before + 0.2);
        }
    }

    @Test
    void theEpochListenerHearsEveryEpochOfEveryStage() {
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), vocab, 7)) {
            List<String> heard = new ArrayList<>();
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining(), line -> { })
                    .onEpoch((stage, epoch, model) -> heard.add(stage + epoch));
            Map<Long, long[]> seqs = Fixtures.sequences(20, 10, 4);
            trainer.trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), 2, 1e-3f);
            trainer.trainPrompts(lm, seqs, PromptTemplate.resource(PromptTemplate.RECOMMENDATION),
                    offline(lm, seqs), selector(lm), Strategy.SIMILARITY, false, 1);
            assertThat(heard).containsExactly("A1", "A2", "B1");
        }
    }

    static int managedArrays(LanguageModel lm) {
        return ((BaseNDManager) lm.djlModel().getNDManager()).getManagedArrays().size();
    }

    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static DemoSelector selector(LanguageModel lm) {
        return new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION), new DemoSelector.Config(5, 4, 9, 1));
    }

    static OfflineNeighbourhood offline(LanguageModel lm, Map<Long, long[]> seqs) {
        return new OfflineNeighbourhood(new SimilarUsers(seqs, lm.vocabulary(), lm.itemEmbeddings(), 10), seqs, "test");
    }

    static Map<String, float[]> snapshot(Map<String, Parameter> params) {
        Map<String, float[]> out = new HashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }
}
