package io.adaptrec.worker.model;

import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.eval.EvalCase;
import io.adaptrec.worker.eval.Metrics;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Query;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.TrainingData;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Strategy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tuning driver (not a unit test): trains RecLM once on ML-100K through {@link RecLMSystem#train} and
 * prints validation HR@1 after epochs of every stage ("VAL A10 SEQ 0.4810 NONE 0.4504 ..."), to see where a
 * stage starts to overfit. SEQ reads the model as stage A trains it and SASRec scores: the sequence prefix and
 * the last history items, no prompt. Args: seqEpochs promptEpochs loraEpochs dropout. System properties:
 * ml100k (dataset dir), protocol (llara), seed (42), wd (weight decay, 0), every (stage-A epochs
 * between reports, 2), cseeds (candidate seeds of the validation cases, 3), average (weight-averaged epochs, 0). Run: java -cp "inference-worker/target/test-classes:inference-worker/target/classes:$CP"
 * io.adaptrec.worker.model.ValidationCurve 30 8 4 0.1
 */
public final class ValidationCurve {

    public static void main(String[] a) {
        TrainConfig tc = TrainConfig.defaults().withEpochs(Integer.parseInt(a[0]), Integer.parseInt(a[1]),
                        Integer.parseInt(a[2]), 0)
                .withSeed(Integer.getInteger("seed", 42))
                .withWeightDecay(Float.parseFloat(System.getProperty("wd", "0")))
                .withAverageEpochs(Integer.getInteger("average", 0));
        RecLMConfig mc = RecLMConfig.small().withDropout(Float.parseFloat(a[3]));
        var d = Datasets.load(DatasetKind.MOVIELENS, Path.of(System.getProperty("ml100k", "../shared/datasets/ml-100k")),
                LoadOptions.defaults()).dataset();
        Split split = Split.create(d, Protocol.parse(System.getProperty("protocol", "llara")));
        TrainingData td = split.trainingData(0);
        List<List<EvalCase>> cases = new ArrayList<>();
        for (long s = 1; s <= Integer.getInteger("cseeds", 3); s++) {
            cases.add(split.validationCases(s));
        }
        Map<Long, long[]> seqs = RecLMSystem.sequences(td);
        DemoSelector.Config sc = DemoSelector.Config.defaults();
        int every = Integer.getInteger("every", 2);
        Map<Long, long[]> times = RecLMSystem.times(td);
        float[][][] stageASeq = new float[1][][];
        RecLMSystem trained = RecLMSystem.train(td, mc, tc, sc, System.out::println, (stage, ep, lm) -> {
            if (stage.equals("A") && ep == tc.seqEpochs()) {
                stageASeq[0] = sequenceScores(lm, cases, tc.historyLen());
            }
            if (stage.equals("C") && ep == tc.loraEpochs()) {
                // fusion: the prompt's log-probabilities plus w x the sequence reading's (final model, and stage A's)
                RecLMSystem now = new RecLMSystem(lm, seqs, times, sc, tc.historyLen());
                float[][] prompt = scores(now, cases, Strategy.ADAPTIVE, tc.m());
                float[][] seq = sequenceScores(lm, cases, tc.historyLen());
                for (double w : new double[] {0, 0.25, 0.5, 1, 2, 4, 1e6}) {
                    System.out.printf("FUSE w=%s  final-seq %.4f  stageA-seq %.4f%n", w, fused(prompt, seq, w, cases),
                            stageASeq[0] == null ? Double.NaN : fused(prompt, stageASeq[0], w, cases));
                }
            }
            if (stage.equals("A") && ep % every != 0) {
                return;
            }
            // a fresh view on the live model: stage 1 on its current embeddings, nothing cached
            RecLMSystem now = new RecLMSystem(lm, seqs, times, sc, tc.historyLen());
            StringBuilder line = new StringBuilder("VAL " + stage + ep);
            line.append(String.format("  SEQ %.4f", sequenceHitRate(lm, cases, tc.historyLen())));
            List<Strategy> strategies = stage.equals("A") ? List.of(Strategy.NONE)
                    : List.of(Strategy.NONE, Strategy.SIMILARITY, Strategy.ADAPTIVE);
            for (Strategy st : strategies) {
                line.append(String.format("  %s %.4f", st, hitRate(now, cases, st, tc.m())));
            }
            System.out.println(line);
        });
        trained.close();
    }

    /** Every case's candidate log-probabilities under the prompt of {@code st}, the seeds' cases in turn. */
    static float[][] scores(RecLMSystem sys, List<List<EvalCase>> seeds, Strategy st, int m) {
        List<float[]> out = new ArrayList<>();
        for (List<EvalCase> cs : seeds) {
            out.addAll(List.of(sys.score(cs.stream().map(EvalCase::query).toList(), st, st == Strategy.NONE ? 0 : m)));
        }
        return out.toArray(new float[0][]);
    }

    /** As {@link #scores}, read from the sequence prefix and the last history items alone. */
    static float[][] sequenceScores(LanguageModel lm, List<List<EvalCase>> seeds, int historyLen) {
        int[] prefix = RecLMSystem.sequencePrefix(lm.vocabulary());
        List<Prompt> prompts = new ArrayList<>();
        List<long[]> cands = new ArrayList<>();
        for (List<EvalCase> cs : seeds) {
            for (EvalCase c : cs) {
                prompts.add(Prompt.sequence(prefix, lm.vocabulary(), c.query().history(), historyLen));
                cands.add(c.query().candidates());
            }
        }
        return lm.scoreCandidates(prompts, cands);
    }

    /** HR@1 of a + w b (pessimistic ties), the cases in {@link #scores}' order. */
    static double fused(float[][] a, float[][] b, double w, List<List<EvalCase>> seeds) {
        int hits = 0;
        int n = 0;
        for (List<EvalCase> cs : seeds) {
            for (EvalCase c : cs) {
                float[] f = new float[a[n].length];
                for (int j = 0; j < f.length; j++) {
                    f[j] = (float) (a[n][j] + w * b[n][j]);
                }
                hits += (int) Metrics.hit(Metrics.rank(f, c.targetIndex(), f.length), 1);
                n++;
            }
        }
        return (double) hits / n;
    }

    /** As {@link #hitRate}, scoring each case from the sequence prefix and its last history items alone. */
    static double sequenceHitRate(LanguageModel lm, List<List<EvalCase>> seeds, int historyLen) {
        float[][] seq = sequenceScores(lm, seeds, historyLen);
        return fused(seq, seq, 0, seeds);
    }

    /** HR@1 with pessimistic ties ({@link Metrics#rank}), pooled over the seeds' cases. */
    static double hitRate(RecLMSystem sys, List<List<EvalCase>> seeds, Strategy st, int m) {
        int hits = 0;
        int n = 0;
        for (List<EvalCase> cs : seeds) {
            List<Query> qs = cs.stream().map(EvalCase::query).toList();
            float[][] scores = sys.score(qs, st, st == Strategy.NONE ? 0 : m);
            for (int i = 0; i < cs.size(); i++) {
                long[] c = qs.get(i).candidates();
                int target = 0;
                while (c[target] != cs.get(i).target()) {
                    target++;
                }
                hits += (int) Metrics.hit(Metrics.rank(scores[i], target, c.length), 1);
                n++;
            }
        }
        return (double) hits / n;
    }
}
