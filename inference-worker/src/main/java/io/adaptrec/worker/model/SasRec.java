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

    /** A SASRec sequence opens with [BOS] alone. */
    private static final int[] PREFIX = {Vocabulary.BOS};

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
        RecLMTrainer trainer = new RecLMTrainer(tc.forSasrec(), log);
        trainer.trainSequences(lm, seqs, PREFIX, tc.sasrecEpochs(), tc.lr(),
                RecLMTrainer.candidateLogLikelihood(data.validation(), PREFIX, tc.historyLen()));
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
            prompts.add(Prompt.sequence(PREFIX, vocab, q.history(), historyLen));
            cands.add(q.candidates());
        }
        return lm.scoreCandidates(prompts, cands);
    }

    @Override
    public void close() {
        lm.close();
    }
}
