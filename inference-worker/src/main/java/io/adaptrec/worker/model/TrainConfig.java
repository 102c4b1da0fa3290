package io.adaptrec.worker.model;

/**
 * Training schedule of RecLM (base pre-training, then LoRA fine-tuning) and of the SASRec baseline
 * that reuses the same network. Validated at construction; every key names its allowed range.
 *
 * @param seed          engine and sampling seed; equal seeds give identical models
 * @param seqEpochs     stage A: causal-LM epochs over the users' item sequences
 * @param seqWindow     stage A: items per training window
 * @param promptEpochs  stage B: epochs over User-Contextualised prompts, all weights trained
 * @param loraEpochs    stage C: LoRA epochs (base frozen), demonstrations re-selected each epoch
 * @param promptsPerUser prompts (cut points) sampled per user and epoch in stages B and C
 * @param batch         sequences per optimiser step
 * @param lr            learning rate of stages A and B
 * @param loraLr        learning rate of stage C
 * @param m             demonstrations per prompt (paper: M = 5)
 * @param historyLen    target-history items in a prompt (llara: 10)
 * @param negatives     random candidates next to the target in a training prompt (19 -> 20 candidates)
 * @param candWeight    weight of the softmax over the prompt's candidates, next to the full-catalogue one
 * @param lmWeight      weight of the language-model loss on demonstration and history items
 * @param sasrecEpochs  epochs of the SASRec baseline
 * @param judgeItems    stage C: most recent known items on which the model judges each pool member
 *                      when it re-selects demonstrations (serving uses DemoSelector.Config's own)
 * @param weightDecay   decoupled weight decay (AdamW) in every stage; 0 trains with plain Adam
 * @param patience      early stopping of RecLM's stage A on the training split's validation cases: stop after
 *                      this many epochs without a better validation score and keep the best epoch's weights
 *                      (seqEpochs is then the maximum); 0 trains every epoch (the default: on ML-100K loo
 *                      validation, stopping stage A at its own best epoch made the final RecLM worse)
 * @param sasrecPatience the same for the SASRec baseline (sasrecEpochs is then the maximum; default 3 with
 *                      at most 40 epochs: the baseline is trained with the same care as RecLM)
 * @param lrSchedule    learning rate over the sequence epochs of stage A and of SASRec: {@code fixed} (lr throughout)
 *                      or {@code cosine} (linear warm-up from 0 over the first epoch's steps, at most a tenth of all
 *                      steps, then cosine decay to lr / 10 at the last planned step; with early stopping the planned
 *                      steps are those of the maximum epochs)
 * @param averageEpochs weight averaging over the sequence epochs of stage A and of SASRec (stochastic weight
 *                      averaging, Izmailov et al. 2018): the weights kept are the mean of the weights after the last
 *                      {@code averageEpochs} kept epochs (a rolled-back spike is not one); with early stopping, the
 *                      mean of the window that validates best. 0 or 1 keeps the last (best) epoch's weights
 * @param sequenceWeight weight w of the sequence expert: above 0, a frozen copy of the stage-A model is kept next to
 *                      the prompt model, and every ranking is log p(prompt) + w log p(sequence), renormalised over the
 *                      candidates, where the sequence reading is the expert's next-item distribution after the
 *                      target's recent history alone (how stage A trained it); 0 serves the prompt model alone.
 *                      Default 2, chosen on ML-100K loo validation (+2.9 HR@1 points over the prompt model alone,
 *                      3 paired trainings)
 * @param adamBeta2     decay rate of Adam's second-moment estimate in every stage and in SASRec (DJL's and
 *                      PyTorch's default 0.999; SASRec's reference implementation trains with 0.98)
 */
public record TrainConfig(int seed, int seqEpochs, int seqWindow, int promptEpochs, int loraEpochs,
                          int promptsPerUser, int batch, float lr, float loraLr, int m, int historyLen,
                          int negatives, float candWeight, float lmWeight, int sasrecEpochs,
                          int judgeItems, float weightDecay, int patience, int sasrecPatience,
                          String lrSchedule, int averageEpochs, float sequenceWeight,
                          float adamBeta2) {

    public TrainConfig {
        range("seqEpochs", seqEpochs, 0, 1000);
        range("seqWindow", seqWindow, 2, 4000);
        range("promptEpochs", promptEpochs, 0, 1000);
        range("loraEpochs", loraEpochs, 0, 1000);
        range("promptsPerUser", promptsPerUser, 1, 1000);
        range("batch", batch, 1, 4096);
        range("m", m, 0, 20);
        range("historyLen", historyLen, 1, 200);
        range("negatives", negatives, 0, 1000);
        range("sasrecEpochs", sasrecEpochs, 0, 1000);
        range("judgeItems", judgeItems, 1, 5);
        range("patience", patience, 0, 1000);
        range("sasrecPatience", sasrecPatience, 0, 1000);
        range("averageEpochs", averageEpochs, 0, 1000);
        if (!(lr > 0 && lr < 1) || !(loraLr > 0 && loraLr < 1)) {
            throw new IllegalArgumentException("lr and loraLr must be in (0, 1), got " + lr + ", " + loraLr);
        }
        if (!(weightDecay >= 0 && weightDecay < 1)) {
            throw new IllegalArgumentException("weightDecay must be in [0, 1), got " + weightDecay);
        }
        if (!"fixed".equals(lrSchedule) && !"cosine".equals(lrSchedule)) {
            throw new IllegalArgumentException("lrSchedule must be fixed or cosine, got '" + lrSchedule + "'");
        }
        if (!(sequenceWeight >= 0 && sequenceWeight <= 100)) {
            throw new IllegalArgumentException("sequenceWeight must be in [0, 100], got " + sequenceWeight);
        }
        if (!(adamBeta2 > 0 && adamBeta2 < 1)) {
            throw new IllegalArgumentException("adamBeta2 must be in (0, 1), got " + adamBeta2);
        }
        if (!(candWeight >= 0) || !(lmWeight >= 0)) {
            throw new IllegalArgumentException("candWeight and lmWeight must be >= 0");
        }
    }

    /** A schedule whose stage-C judge uses the single most recent known item, trained with plain Adam. */
    public TrainConfig(int seed, int seqEpochs, int seqWindow, int promptEpochs, int loraEpochs, int promptsPerUser,
                       int batch, float lr, float loraLr, int m, int historyLen, int negatives, float candWeight,
                       float lmWeight, int sasrecEpochs) {
        this(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr, loraLr, m, historyLen,
                negatives, candWeight, lmWeight, sasrecEpochs, 1, 0f, 0, 0, "fixed", 0, 0f, 0.999f);
    }

    public static TrainConfig defaults() {
        return new TrainConfig(42, 20, 50, 5, 2, 4, 32, 2e-3f, 1e-3f, 5, 10, 19, 1f, 0.3f, 40, 1, 0f, 0, 3, "fixed", 0, 2f, 0.999f);
    }

    public TrainConfig withSeed(int s) {
        return new TrainConfig(s, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withEpochs(int seq, int prompt, int lora, int sasrec) {
        return new TrainConfig(seed, seq, seqWindow, prompt, lora, promptsPerUser, batch, lr, loraLr, m,
                historyLen, negatives, candWeight, lmWeight, sasrec, judgeItems, weightDecay, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withM(int newM) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, newM, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withLoss(float cand, float lm, int perUser) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, perUser, batch, lr, loraLr, m,
                historyLen, negatives, cand, lm, sasrecEpochs, judgeItems, weightDecay, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withJudgeItems(int items) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, items, weightDecay, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withWeightDecay(float wd) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, wd, patience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withPatience(int p) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, p, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withSasrecPatience(int p) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience, p, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withLrSchedule(String schedule) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience,
                sasrecPatience, schedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withAverageEpochs(int epochs) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience,
                sasrecPatience, lrSchedule, epochs, sequenceWeight, adamBeta2);
    }

    public TrainConfig withSequenceWeight(float w) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience,
                sasrecPatience, lrSchedule, averageEpochs, w, adamBeta2);
    }

    public TrainConfig withAdamBeta2(float beta2) {
        return new TrainConfig(seed, seqEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay, patience,
                sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, beta2);
    }

    /** The schedule SASRec trains stage A with: its epochs and its patience in place of RecLM's. */
    public TrainConfig forSasrec() {
        return new TrainConfig(seed, sasrecEpochs, seqWindow, promptEpochs, loraEpochs, promptsPerUser, batch, lr,
                loraLr, m, historyLen, negatives, candWeight, lmWeight, sasrecEpochs, judgeItems, weightDecay,
                sasrecPatience, sasrecPatience, lrSchedule, averageEpochs, sequenceWeight, adamBeta2);
    }

    private static void range(String key, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + v);
        }
    }
}
