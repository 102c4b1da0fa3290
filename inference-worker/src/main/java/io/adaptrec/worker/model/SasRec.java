package io.adaptrec.worker.model;

import io.adaptrec.worker.eval.Query;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.TrainingData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The SASRec baseline (Kang and McAuley, 2018) in the same harness: the RecLM network with text
 * turned off and an items-only vocabulary, trained as a causal next-item model with a full softmax
 * (stage A alone), scoring candidates from the hidden state after the last history item.
 */
public final class SasRec implements Recommender, AutoCloseable {

    private final LanguageModel lm;
    private final int historyLen;

    private SasRec(LanguageModel lm, int historyLen) {
        this.lm = lm;
        this.historyLen = historyLen;
    }

    public static SasRec train(TrainingData data, RecLMConfig modelCfg, TrainConfig tc, Consumer<String> log) {
        Map<Long, long[]> seqs = RecLMSystem.sequences(data);
        Vocabulary vocab = Vocabulary.build(RecLMSystem.idOnly(data.catalogue()), Set.of());
        LanguageModel lm = LanguageModel.create(modelCfg.withTextAware(false), vocab, tc.seed());
        log.accept("SASRec: " + vocab.itemCount() + " items, " + tc.sasrecEpochs() + " epochs");
        new RecLMTrainer(tc, log).trainSequences(lm, seqs, new int[] {Vocabulary.BOS}, tc.sasrecEpochs(), tc.lr());
        return new SasRec(lm, tc.historyLen());
    }

    @Override
    public String name() {
        return "sasrec";
    }

    /** No candidates in its input, so scoring the whole catalogue is one wider dot product. */
    @Override
    public boolean supportsFullRanking() {
        return true;
    }

    @Override
    public float[][] score(List<Query> queries) {
        List<Prompt> prompts = new ArrayList<>();
        List<long[]> cands = new ArrayList<>();
        Vocabulary vocab = lm.vocabulary();
        for (Query q : queries) {
            long[] h = q.history();
            int from = Math.max(0, h.length - historyLen);
            int[] tok = new int[1 + h.length - from];
            tok[0] = Vocabulary.BOS;
            for (int i = from; i < h.length; i++) {
                tok[1 + i - from] = vocab.itemToken(h[i]);
            }
            prompts.add(new Prompt(tok, new int[0], new int[0]));
            cands.add(q.candidates());
        }
        return lm.scoreCandidates(prompts, cands);
    }

    @Override
    public void close() {
        lm.close();
    }
}
