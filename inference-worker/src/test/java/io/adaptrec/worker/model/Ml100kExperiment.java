package io.adaptrec.worker.model;

import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.eval.EvalCase;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Query;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.TrainingData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Tuning driver (not a unit test): trains on ML-100K and prints validation HR@1 per variant and seed (never test: settings are chosen on validation only).
 * Args: protocol seqEpochs promptEpochs loraEpochs sasrecEpochs [dModel layers promptsPerUser cand lm].
 */
public final class Ml100kExperiment {

    /** Stages A and B are cached under /tmp so stage C and inference can be iterated on quickly. */
    static RecLMSystem trainWithCheckpoint(TrainingData td, RecLMConfig mc, TrainConfig tc,
                                           io.adaptrec.worker.selection.DemoSelector.Config sc, String key) {
        try {
            java.nio.file.Path ck = java.nio.file.Path.of("/tmp/reclm-ckpt-" + key);
            var seqs = RecLMSystem.sequences(td);
            LanguageModel lm;
            RecLMTrainer trainer = new RecLMTrainer(tc, System.out::println);
            PromptTemplate rec = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
            if (java.nio.file.Files.exists(ck.resolve("base.safetensors"))) {
                lm = LanguageModel.loadBase(ck);
                System.out.println("loaded checkpoint " + ck);
            } else {
                Vocabulary vocab = Vocabulary.build(td.catalogue(), RecLMSystem.templateWords());
                lm = LanguageModel.create(mc, vocab, tc.seed());
                trainer.trainSequences(lm, seqs, RecLMSystem.sequencePrefix(vocab), tc.seqEpochs(), tc.lr());
                RecLMSystem afterA = new RecLMSystem(lm, seqs, sc, tc.historyLen());
                trainer.trainPrompts(lm, seqs, rec, afterA.neighbourhood(), afterA.selector(), io.adaptrec.worker.selection.Strategy.SIMILARITY,
                        false, tc.promptEpochs());
                lm.saveBase(ck);
            }
            RecLMSystem sys = new RecLMSystem(lm, seqs, sc, tc.historyLen());
            String cStrategy = System.getProperty("cStrategy", "adaptive");
            trainer.trainPrompts(lm, seqs, rec, sys.neighbourhood(), sys.selector(), io.adaptrec.worker.selection.Strategy.parse(cStrategy),
                    true, tc.loraEpochs());
            return sys;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static void main(String[] a) {
        Protocol protocol = Protocol.parse(a[0]);
        TrainConfig tc = TrainConfig.defaults().withEpochs(Integer.parseInt(a[1]), Integer.parseInt(a[2]),
                Integer.parseInt(a[3]), Integer.parseInt(a[4]));
        RecLMConfig mc = RecLMConfig.small();
        if (a.length > 5) {
            mc = new RecLMConfig(Integer.parseInt(a[5]), 2, Integer.parseInt(a[6]), 256, 0.1f, true, 8, 16f, false);
            tc = tc.withLoss(Float.parseFloat(a[8]), Float.parseFloat(a[9]), Integer.parseInt(a[7]));
        }
        var d = Datasets.load(DatasetKind.MOVIELENS, Path.of(System.getProperty("ml100k", "../shared/datasets/ml-100k")), LoadOptions.defaults()).dataset();
        Split split = Split.create(d, protocol);
        System.out.println(split.summary());
        TrainingData td = split.trainingData(0);
        long t0 = System.nanoTime();
        List<Recommender> recs = new ArrayList<>();
        if (tc.sasrecEpochs() > 0) {
            recs.add(SasRec.train(td, mc, tc, System.out::println));
        }
        System.out.printf("sasrec trained %.1fs%n", (System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        int known = Integer.getInteger("known", 1);
        int demoLen = Integer.getInteger("demoLen", 10);
        var sc = new io.adaptrec.worker.selection.DemoSelector.Config(10, demoLen, 19, known);
        RecLMSystem sys = trainWithCheckpoint(td, mc, tc, sc, a[0] + "-" + a[1] + "-" + a[2] + "-" + mc.dModel() + "-" + mc.layers());
        System.out.printf("reclm trained %.1fs%n", (System.nanoTime() - t0) / 1e9);
        List<RecLMSystem.Variant> vs = new ArrayList<>();
        for (String v : System.getProperty("variants", "adaptrec,similarity,static,none").split(",")) {
            vs.add(RecLMSystem.Variant.parse(v, tc.m()));
        }
        recs.addAll(sys.recommenders(vs));
        for (String k : System.getProperty("knownAlt", "").split(",")) {
            if (!k.isBlank()) {
                int mFinal = tc.m();
                RecLMSystem alt = sys.withSelection(new io.adaptrec.worker.selection.DemoSelector.Config(10, demoLen, 19,
                        Integer.parseInt(k)));
                recs.add(new Recommender() {
                    public String name() { return "adaptK" + k; }
                    public float[][] score(List<Query> q) { return alt.score(q, io.adaptrec.worker.selection.Strategy.ADAPTIVE, mFinal); }
                });
            }
        }
        for (Recommender r : recs) {
            StringBuilder sb = new StringBuilder(String.format("%-11s", r.name()));
            double mean = 0;
            long t1 = System.nanoTime();
            for (int seed = 0; seed < 3; seed++) {
                List<EvalCase> cases = split.validationCases(seed);
                List<Query> qs = cases.stream().map(EvalCase::query).toList();
                float[][] s = r.score(qs);
                double hits = 0;
                for (int i = 0; i < cases.size(); i++) {
                    int ti = cases.get(i).targetIndex();
                    boolean top = true;
                    for (int j = 0; j < s[i].length; j++) {
                        if (j != ti && s[i][j] >= s[i][ti]) {
                            top = false;
                        }
                    }
                    hits += top ? 1 : 0;
                }
                double hr = hits / cases.size();
                mean += hr / 3;
                sb.append(String.format(" %.4f", hr));
            }
            System.out.printf("%s  mean %.4f  (%.1fs)%n", sb, mean, (System.nanoTime() - t1) / 1e9);
        }
    }
}
