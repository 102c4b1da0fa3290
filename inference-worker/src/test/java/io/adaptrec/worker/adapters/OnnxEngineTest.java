package io.adaptrec.worker.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Demonstration;
import io.adaptrec.worker.model.EngineOptions;
import io.adaptrec.worker.model.Fixtures;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.NewItem;
import io.adaptrec.worker.model.Prompt;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.ScoreComparison;
import io.adaptrec.worker.model.Vocabulary;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The exported ONNX graph on ONNX Runtime (CPU) scores exactly as the PyTorch network does, for the
 * base and for merged adapters, in place and as arms, on a few hundred prompts of the serving shape
 * (demonstrations from other users, the target's recent history, 20 candidates, one new item).
 */
class OnnxEngineTest {

    private static final double TOLERANCE = 1e-4;
    private static final EngineOptions ORT = EngineOptions.parse("onnxruntime", "cpu", 1);
    private static final long NEW_ITEM = 9_999_999L;

    private static List<Prompt> prompts;
    private static List<long[]> candidates;
    private static long[] answers;
    private static Map<Long, NewItem> newItemWords;

    @BeforeAll
    static void prompts() {
        Vocabulary vocab = Fixtures.vocabulary();
        PromptTemplate template = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        List<Long> users = new ArrayList<>(seqs.keySet());
        long[] items = vocab.itemIds();
        SplittableRandom rnd = new SplittableRandom(7);
        prompts = new ArrayList<>();
        candidates = new ArrayList<>();
        List<Long> answer = new ArrayList<>();
        for (long u : users) {
            long[] seq = seqs.get(u);
            for (int cut = 4; cut < seq.length; cut++) {   // every prefix of every user: ~300 queries
                long[] history = Arrays.copyOfRange(seq, Math.max(0, cut - 10), cut);
                List<Demonstration> demos = new ArrayList<>();
                for (int k = 0; k < 5; k++) {
                    long other = users.get(rnd.nextInt(users.size()));
                    long[] o = seqs.get(other);
                    int end = 3 + rnd.nextInt(o.length - 3);
                    demos.add(new Demonstration(other, Arrays.copyOfRange(o, Math.max(0, end - 5), end), o[end]));
                }
                long[] cand = new long[20];
                cand[0] = seq[cut];
                for (int j = 1; j < cand.length; j++) {
                    cand[j] = items[rnd.nextInt(items.length)];
                }
                if (cut == 6) {
                    cand[19] = NEW_ITEM;   // a catalogue item that arrived after training: scored by its text
                }
                prompts.add(template.render(vocab, demos, history, cand));
                candidates.add(cand);
                answer.add(seq[cut]);
            }
        }
        answers = answer.stream().mapToLong(Long::longValue).toArray();
        newItemWords = Map.of(NEW_ITEM, new NewItem(vocab.wordTokens(Fixtures.catalogue().get(3)), null));
        assertThat(prompts).hasSizeGreaterThanOrEqualTo(300);
        assertThat(newItemWords.get(NEW_ITEM).words()).isNotEmpty();
    }

    @Test
    void exportedEngineScoresAsPyTorchForTheBaseAndEveryMergedAdapter() throws IOException {
        List<String> versions = new ArrayList<>(List.of(LanguageModel.BASE));
        versions.addAll(TrainedAdapters.VERSIONS);
        float[][] base = null;
        for (String v : versions) {
            try (LanguageModel ref = TrainedAdapters.freshModel(); LanguageModel ort = TrainedAdapters.freshModel()) {
                if (!v.equals(LanguageModel.BASE)) {
                    AdapterStore.load(ref, TrainedAdapters.versionDir(v));
                    AdapterStore.load(ort, TrainedAdapters.versionDir(v));
                }
                ort.useEngine(ORT);
                awaitExported(ort);
                assertSameScores(ort, ref, v);
                float[][] scores = ref.scoreCandidates(prompts, candidates, newItemWords);
                if (base == null) {
                    base = scores;
                } else {   // so that an export that dropped the adapter could not pass
                    assertThat(maxDifference(scores, base)).as("%s changes the base's scores", v).isGreaterThan(1e-3);
                }
            }
        }
    }

    private static double maxDifference(float[][] a, float[][] b) {
        return ScoreComparison.of(List.of(a), List.of(b)).maxAbsDifference();
    }

    @Test
    void armsSwitchToTheExportedEngineTogetherAndEachScoresAsItsAdapter() throws IOException {
        try (LanguageModel lm = TrainedAdapters.freshModel(); NDManager m = NDManager.newBaseManager()) {
            AdapterStore.load(lm, TrainedAdapters.versionDir("v2"));
            lm.addAdapter("v1", TrainedAdapters.tensors(m, TrainedAdapters.weights("v1")));
            lm.useEngine(ORT);
            // the first call starts the builds and is itself served by PyTorch: serving never waits
            lm.scoreCandidates(prompts.subList(0, 1), candidates.subList(0, 1));
            awaitExported(lm);
            assertThat(lm.engineBuilds()[0]).isEqualTo(2);   // one session per served adapter

            // a new arm: every adapter goes back to PyTorch until the new one has its session too
            lm.addAdapter("v3", TrainedAdapters.tensors(m, TrainedAdapters.weights("v3")));
            assertThat(lm.engineInUse()).isEqualTo(LanguageModel.ENGINE);
            awaitExported(lm);
            assertThat(lm.engineBuilds()).containsExactly(3, 0);

            for (String v : TrainedAdapters.VERSIONS) {
                try (LanguageModel ref = TrainedAdapters.freshModel()) {
                    AdapterStore.load(ref, TrainedAdapters.versionDir(v));
                    assertSameScores(lm, ref, v);
                }
            }
            lm.removeAdapter("v1");   // its session is closed; the others keep serving
            assertThat(lm.engineInUse()).isEqualTo("OnnxRuntime");
            try (LanguageModel ref = TrainedAdapters.freshModel()) {
                AdapterStore.load(ref, TrainedAdapters.versionDir("v3"));
                assertSameScores(lm, ref, "v3");
            }
        }
    }

    @Test
    void anExportedFileLoadsAndNamesItsInputsAndOutputs() throws Exception {
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            AdapterStore.load(lm, TrainedAdapters.versionDir("v1"));
            for (boolean int32 : new boolean[] {false, true}) {
                byte[] onnx = lm.exportOnnx(null, int32);
                // DJL creates the process's one ORT environment (with its thread options) before anyone else may
                ai.djl.engine.Engine.getEngine("OnnxRuntime");
                try (var session = ai.onnxruntime.OrtEnvironment.getEnvironment()
                        .createSession(onnx, new ai.onnxruntime.OrtSession.SessionOptions())) {
                    assertThat(session.getInputNames()).containsExactly("ids", "answer", "candidates");
                    assertThat(session.getOutputNames()).containsExactly("cand_logits", "item_lse", "hidden");
                    assertThat(session.getMetadata().getCustomMetadata()).containsEntry("adaptrec.adapter", "v1");
                    assertThat(session.getInputInfo().get("ids").getInfo().toString())
                            .contains(int32 ? "INT32" : "INT64").contains("[-1, -1]");
                }
            }
        }
    }

    @Test
    void tensorrtNeedsAGpuAndTheEngineNamesAreChecked() {
        assertThatThrownBy(() -> EngineOptions.parse("tensorrt", "cpu", 1))
                .hasMessageContaining("GPU only");
        assertThatThrownBy(() -> EngineOptions.parse("tvm", "cpu", 1))
                .hasMessageContaining("pytorch | onnxruntime | tensorrt");
        assertThatThrownBy(() -> EngineOptions.parse("onnxruntime", "tpu", 1))
                .hasMessageContaining("cpu | gpu");
    }

    /** Scores until the exported engine serves every adapter (each call starts what is missing). */
    private static void awaitExported(LanguageModel lm) {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!lm.engineInUse().equals("OnnxRuntime")) {
            assertThat(System.nanoTime()).as("exported engine built within 120 s").isLessThan(deadline);
            assertThat(lm.engineBuilds()[1]).as("failed engine builds").isZero();
            lm.scoreCandidates(prompts.subList(0, 1), candidates.subList(0, 1));
            sleep(20);
        }
    }

    private static void assertSameScores(LanguageModel ort, LanguageModel ref, String version) {
        float[][] want = ref.scoreCandidates(prompts, candidates, newItemWords);
        float[] wantAnswer = ref.answerLogProb(prompts, answers);
        ort.withAdapter(version, snap -> {
            assertThat(ort.engineInUse()).isEqualTo("OnnxRuntime");
            float[][] got = ort.scoreCandidates(prompts, candidates, newItemWords);
            float[] gotAnswer = ort.answerLogProb(prompts, answers);
            double max = maxDifference(want, got);
            for (int i = 0; i < want.length; i++) {
                assertThat(ranking(got[i])).as("%s: ranking of prompt %d", version, i)
                        .isEqualTo(ranking(want[i]));
                assertThat((double) Math.abs(gotAnswer[i] - wantAnswer[i])).as("%s: log p(answer) of prompt %d",
                        version, i).isLessThanOrEqualTo(TOLERANCE);
            }
            System.out.printf("OnnxEngineTest: %s: max |score difference| %.2e over %d prompts%n", version, max, want.length);
            assertThat(max).as("%s: max |score difference| over %d prompts", version, want.length)
                    .isLessThanOrEqualTo(TOLERANCE);
            return null;
        });
    }

    /** Candidate columns by descending score; exact ties (repeated candidates) in column order. */
    private static List<Integer> ranking(float[] scores) {
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(j -> -scores[j]).thenComparing(j -> j)).toList();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
