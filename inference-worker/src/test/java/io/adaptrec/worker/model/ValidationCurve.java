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
 * prints validation HR@1 after epochs of every stage ("VAL A10 NONE 0.4504 ..."), to see where a
 * stage starts to overfit. Args: seqEpochs promptEpochs loraEpochs dropout. System properties:
 * ml100k (dataset dir), protocol (llara), seed (42), wd (weight decay, 0), every (stage-A epochs
 * between reports, 2). Run: java -cp "inference-worker/target/test-classes:inference-worker/target/classes:$CP"
 * io.adaptrec.worker.model.ValidationCurve 30 8 4 0.1
 */
public final class ValidationCurve {

    public static void main(String[] a) {
        TrainConfig tc = TrainConfig.defaults().withEpochs(Integer.parseInt(a[0]), Integer.parseInt(a[1]),
                        Integer.parseInt(a[2]), 0)
                .withSeed(Integer.getInteger("seed", 42))
                .withWeightDecay(Float.parseFloat(System.getProperty("wd", "0")));
        RecLMConfig mc = RecLMConfig.small().withDropout(Float.parseFloat(a[3]));
        var d = Datasets.load(DatasetKind.MOVIELENS, Path.of(System.getProperty("ml100k", "../shared/datasets/ml-100k")),
                LoadOptions.defaults()).dataset();
        Split split = Split.create(d, Protocol.parse(System.getProperty("protocol", "llara")));
        TrainingData td = split.trainingData(0);
        List<List<EvalCase>> cases = new ArrayList<>();
        for (long s = 1; s <= 3; s++) {
            cases.add(split.validationCases(s));
        }
        Map<Long, long[]> seqs = RecLMSystem.sequences(td);
        DemoSelector.Config sc = DemoSelector.Config.defaults();
        int every = Integer.getInteger("every", 2);
        RecLMSystem trained = RecLMSystem.train(td, mc, tc, sc, System.out::println, (stage, ep, lm) -> {
            if (stage.equals("A") && ep % every != 0) {
                return;
            }
            // a fresh view on the live model: stage 1 on its current embeddings, nothing cached
            RecLMSystem now = new RecLMSystem(lm, seqs, sc, tc.historyLen());
            StringBuilder line = new StringBuilder("VAL " + stage + ep);
            List<Strategy> strategies = stage.equals("A") ? List.of(Strategy.NONE)
                    : List.of(Strategy.NONE, Strategy.SIMILARITY, Strategy.ADAPTIVE);
            for (Strategy st : strategies) {
                line.append(String.format("  %s %.4f", st, hitRate(now, cases, st, tc.m())));
            }
            System.out.println(line);
        });
        trained.close();
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
