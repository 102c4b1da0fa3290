package io.adaptrec.worker.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.adaptrec.worker.eval.CandidateSampler;
import io.adaptrec.worker.eval.EvalCase;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Neighbourhood;
import io.adaptrec.worker.selection.Strategy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Trains RecLM in three stages on a protocol's training split:
 * <ol>
 *   <li>A. causal language modelling over users' item sequences, every position a target (cheap,
 *       dense signal: it teaches item co-occurrence, order and popularity);</li>
 *   <li>B. all weights on User-Contextualised prompts (Figure 4) with similarity-selected
 *       demonstrations, so the base learns the prompt language and to use demonstrations;</li>
 *   <li>C. LoRA fine-tuning, base frozen, demonstrations re-selected by the current model at the
 *       start of every epoch (AdaptRec's self-adaptive loop, stage 2 inside training).</li>
 * </ol>
 */
public final class RecLMTrainer {

    private final TrainConfig cfg;
    private boolean abortOnNonFinite;
    private final Consumer<String> log;
    private EpochListener listener = (stage, epoch, lm) -> { };

    /** Called after every epoch of every stage, e.g. to track validation quality as training goes. */
    @FunctionalInterface
    public interface EpochListener {
        /**
         * @param stage "A", "B" or "C"
         * @param epoch 1-based epoch within that stage
         * @param lm    the model being trained (stage C: with its adapter enabled)
         */
        void afterEpoch(String stage, int epoch, LanguageModel lm);
    }

    /** A numerically broken step: the model it ran on should be discarded, not trained further. */
    public static final class NonFiniteException extends RuntimeException {
        NonFiniteException(String message) {
            super(message);
        }
    }

    /**
     * Throw {@link NonFiniteException} on the first non-finite loss or gradient instead of skipping
     * the step (the refresh loop discards that round's model: in-process trainer crashes always
     * followed such a step).
     */
    public RecLMTrainer abortOnNonFinite() {
        this.abortOnNonFinite = true;
        return this;
    }

    public RecLMTrainer onEpoch(EpochListener l) {
        this.listener = java.util.Objects.requireNonNull(l, "listener");
        return this;
    }

    public RecLMTrainer(TrainConfig cfg, Consumer<String> log) {
        this.cfg = cfg;
        this.log = log;
    }

    /** One supervised prompt: the rendered prompt, its candidates and the item that came next. */
    record Example(long userId, long[] history, long target, long[] candidates) {}

    // ------------------------------------------------------------------ stage A

    /**
     * Causal LM over item windows: {@code prefix} tokens (prompt words, or just [BOS] for SASRec)
     * followed by up to {@code seqWindow} items; each item is predicted from everything before it,
     * over the whole catalogue.
     */
    public void trainSequences(LanguageModel lm, Map<Long, long[]> sequences, int[] prefix, int epochs, float lr) {
        trainSequences(lm, sequences, prefix, epochs, lr, null);
    }

    /**
     * A score of the model being trained, higher is better, on data the training does not see (the
     * split's validation cases): what early stopping follows.
     */
    @FunctionalInterface
    public interface Validation {
        double score(LanguageModel lm);
    }

    /**
     * The validation score early stopping of a sequence model follows: the mean log-probability of each
     * validation case's target among its candidates, scored from {@code prefix} followed by the case's
     * last {@code historyLen} history items (how SASRec scores, and how stage A's windows read). A
     * log-likelihood rather than HR@1: it moves with every case, not only with the ones whose top item flips,
     * so it is far less noisy on a validation set of ~100 users.
     *
     * @return null when there are no cases (nothing to stop on: every epoch is trained)
     */
    public static Validation candidateLogLikelihood(List<EvalCase> cases, int[] prefix, int historyLen) {
        if (cases.isEmpty()) {
            return null;
        }
        return lm -> {
            List<Prompt> prompts = new ArrayList<>(cases.size());
            List<long[]> cands = new ArrayList<>(cases.size());
            for (EvalCase c : cases) {
                prompts.add(Prompt.sequence(prefix, lm.vocabulary(), c.query().history(), historyLen));
                cands.add(c.query().candidates());
            }
            float[][] scores = lm.scoreCandidates(prompts, cands);
            double sum = 0;
            for (int i = 0; i < cases.size(); i++) {
                sum += scores[i][cases.get(i).targetIndex()];
            }
            return sum / cases.size();
        };
    }

    private int keptEpochs;

    /** Epochs whose weights the last {@link #trainSequences} kept (fewer than asked after an early stop). */
    public int keptEpochs() {
        return keptEpochs;
    }

    /**
     * As {@link #trainSequences(LanguageModel, Map, int[], int, float)}; with a {@code validation} and
     * {@link TrainConfig#patience()} > 0 it stops once {@code patience} epochs in a row did not beat the best
     * validation score and restores the weights of the best epoch ({@code epochs} is then the maximum).
     */
    public void trainSequences(LanguageModel lm, Map<Long, long[]> sequences, int[] prefix, int epochs, float lr,
                               Validation validation) {
        keptEpochs = 0;
        if (epochs == 0) {
            return;
        }
        boolean stopEarly = validation != null && cfg.patience() > 0;
        Vocabulary vocab = lm.vocabulary();
        List<int[]> windows = new ArrayList<>();
        int w = Math.min(cfg.seqWindow(), lm.config().maxLen() - prefix.length);
        for (long[] s : sequences.values()) {
            for (int end = s.length; end > 0; end -= w) {
                int from = Math.max(0, end - w);
                int[] tok = Arrays.copyOf(prefix, prefix.length + end - from);
                for (int i = from; i < end; i++) {
                    tok[prefix.length + i - from] = vocab.itemToken(s[i]);
                }
                windows.add(tok);
            }
        }
        Random rnd = new Random(cfg.seed());
        long stepsPerEpoch = (windows.size() + cfg.batch() - 1) / cfg.batch();
        long[] done = {0};   // optimiser steps taken so far: the schedule's position, kept across a rollback
        Trainer tr = newTrainer(lm, scheduled(lr, stepsPerEpoch, epochs, done[0]));
        try {
            Map<String, float[]> good = null;   // weights after the last epoch that did not spike
            double goodLoss = Double.POSITIVE_INFINITY;
            Map<String, float[]> best = null;   // with early stopping: weights of the best validation epoch
            double bestScore = Double.NEGATIVE_INFINITY;
            int bestEpoch = 0;
            int window = Math.max(1, cfg.averageEpochs());
            java.util.ArrayDeque<Map<String, float[]>> recent = new java.util.ArrayDeque<>();   // last kept epochs' weights
            String averaged = "";   // which epochs the kept weights average, for the log
            for (int ep = 0; ep < epochs; ep++) {
                long t0 = System.nanoTime();
                List<Integer> order = shuffled(windows.size(), rnd);
                double sum = 0;
                int steps = 0;
                for (int b = 0; b < order.size(); b += cfg.batch()) {
                    List<int[]> batch = new ArrayList<>();
                    for (int i = b; i < Math.min(order.size(), b + cfg.batch()); i++) {
                        batch.add(windows.get(order.get(i)));
                    }
                    sum += stepSequences(tr, lm, batch, prefix.length - 1);
                    steps++;
                    done[0]++;
                }
                double loss = sum / steps;
                log.accept(String.format("  stage A epoch %d/%d: loss %.4f (%d windows, %.1fs)",
                        ep + 1, epochs, loss, windows.size(), (System.nanoTime() - t0) / 1e9));
                if (good != null && loss > goodLoss * (1 + SPIKE)) {
                    // A loss spike (seen once on ML-100K loo: 5.42 -> 6.03 in the last SASRec epoch, HR@1
                    // 0.455 -> 0.382) leaves both weights and Adam moments off course: roll the weights
                    // back to the last good epoch and start the optimiser afresh.
                    restore(lm, good);
                    tr.close();
                    tr = newTrainer(lm, scheduled(lr, stepsPerEpoch, epochs, done[0]));
                    rollbacks++;
                    log.accept(String.format("  warning: stage A epoch %d loss %.4f is above %.4f + %.0f%%: weights "
                            + "of the previous good epoch restored, optimiser reset (%d rollbacks so far)",
                            ep + 1, loss, goodLoss, SPIKE * 100, rollbacks));
                } else {
                    good = trainableWeights(lm);
                    goodLoss = loss;
                    keptEpochs = ep + 1;
                    recent.addLast(good);
                    if (recent.size() > window) {
                        recent.removeFirst();
                    }
                }
                listener.afterEpoch("A", ep + 1, lm);
                if (stopEarly && keptEpochs == ep + 1) {
                    // with averaging, what is validated (and kept) is the mean of the window ending here
                    Map<String, float[]> candidate = recent.size() > 1 ? mean(recent) : good;
                    if (candidate != good) {
                        restore(lm, candidate);
                    }
                    double v = validation.score(lm);
                    if (candidate != good) {
                        restore(lm, good);
                    }
                    if (v > bestScore) {
                        bestScore = v;
                        best = candidate;
                        bestEpoch = ep + 1;
                        averaged = recent.size() > 1 ? " (mean of its last " + recent.size() + " kept epochs)" : "";
                    }
                    log.accept(String.format("    validation %.4f (best %.4f at epoch %d)", v, bestScore, bestEpoch));
                }
                if (stopEarly && ep + 1 - bestEpoch >= cfg.patience()) {
                    break;
                }
            }
            if (best != null && (bestEpoch != keptEpochs || !averaged.isEmpty())) {
                restore(lm, best);
                log.accept(String.format("  stage A: early stop, weights of epoch %d%s kept (validation %.4f; "
                        + "%d epochs trained, patience %d)", bestEpoch, averaged, bestScore, keptEpochs, cfg.patience()));
                keptEpochs = bestEpoch;
            } else if (best == null && recent.size() > 1) {
                restore(lm, mean(recent));
                // kept epochs need not be consecutive (a rolled-back spike is skipped), so no range is named
                log.accept(String.format("  stage A: weights averaged over the last %d kept epochs (the last is %d)",
                        recent.size(), keptEpochs));
            }
        } finally {
            tr.close();
        }
    }

    /**
     * Relative rise of an epoch's mean loss over the last good epoch that counts as a spike. A healthy stage-A or
     * SASRec epoch never rises by more than 0.1 % on ML-100K (the first epoch after a rollback, with fresh Adam
     * moments, by at most 0.8 %). Spikes the earlier 5 % let through started at +2.6 % (SASRec, loo: validation
     * fell for three epochs, so early stopping kept the undertrained epoch 4, test HR@1 0.376 against 0.46-0.50)
     * and at +3.9 % and +4.5 % (stage A, llara: the loss never came back to its level before the spike).
     */
    static final double SPIKE = 0.02;
    private int rollbacks;

    /** Epochs whose weights were rolled back after a loss spike, over this trainer's life. */
    public int rollbacks() {
        return rollbacks;
    }

    private static Map<String, float[]> trainableWeights(LanguageModel lm) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        for (var p : lm.net().getParameters().values()) {
            if (p.requiresGradient()) {
                out.put(p.getName(), p.getArray().toFloatArray());
            }
        }
        return out;
    }

    /** Element-wise mean of several snapshots of the same parameters (weight averaging). */
    static Map<String, float[]> mean(java.util.Collection<Map<String, float[]>> snapshots) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        for (Map<String, float[]> w : snapshots) {
            for (var e : w.entrySet()) {
                float[] acc = out.computeIfAbsent(e.getKey(), k -> new float[e.getValue().length]);
                float[] v = e.getValue();
                for (int i = 0; i < v.length; i++) {
                    acc[i] += v[i];
                }
            }
        }
        float n = snapshots.size();
        for (float[] acc : out.values()) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] /= n;
            }
        }
        return out;
    }

    private static void restore(LanguageModel lm, Map<String, float[]> weights) {
        for (var p : lm.net().getParameters().values()) {
            float[] w = weights.get(p.getName());
            if (w != null) {
                p.getArray().set(w);
            }
        }
    }

    private double stepSequences(Trainer tr, LanguageModel lm, List<int[]> batch, int firstPos) {
        Vocabulary vocab = lm.vocabulary();
        int t = batch.stream().mapToInt(a -> a.length).max().orElse(1) - 1;
        long[] ids = new long[batch.size() * t];
        List<Long> pos = new ArrayList<>();
        List<Long> tgt = new ArrayList<>();
        for (int r = 0; r < batch.size(); r++) {
            int[] tok = batch.get(r);
            for (int j = 0; j < tok.length - 1; j++) {
                ids[r * t + j] = tok[j];
                if (j >= firstPos) {
                    pos.add((long) r * t + j);
                    tgt.add((long) tok[j + 1] - vocab.itemStart());
                }
            }
        }
        try (NDManager sub = tr.getManager().newSubManager()) {
            NDArray idArr = sub.create(ids, new Shape(batch.size(), t));
            NDArray posArr = sub.create(pos.stream().mapToLong(Long::longValue).toArray());
            NDArray tgtArr = sub.create(tgt.stream().mapToLong(Long::longValue).toArray());
            float loss;
            try (GradientCollector gc = tr.newGradientCollector()) {
                NDList out = tr.forward(new NDList(idArr));
                NDArray h = LanguageModel.gatherRows(out.head().reshape(-1, lm.config().dModel()), posArr);
                NDArray l = crossEntropy(RecLM.itemLogits(out, h, vocab.itemStart(), vocab.itemEnd()), tgtArr);
                loss = l.getFloat();
                if (!finiteOrSkip(lm, loss, "stage A")) {
                    return 0;
                }
                gc.backward(l);
            }
            safeStep(tr, lm);
            return loss;
        }
    }

    private int skipped;

    /**
     * A non-finite loss skips the step instead of poisoning the weights; we saw rare, seed-for-seed
     * irreproducible NaN steps on the contended CPU box. If the weights themselves are no longer
     * finite there is nothing to skip to, so that fails with the names of the broken parameters.
     */
    private boolean finiteOrSkip(LanguageModel lm, float loss, String where) {
        if (Float.isFinite(loss)) {
            return true;
        }
        List<String> bad = new ArrayList<>();
        for (var p : lm.net().getParameters().values()) {
            if (!finite(p.getArray())) {
                bad.add(p.getName());
            }
        }
        if (!bad.isEmpty()) {
            throw new IllegalStateException(where + ": loss is " + loss + "; parameters with NaN/Inf: " + bad);
        }
        if (abortOnNonFinite) {
            throw new NonFiniteException(where + ": non-finite loss " + loss);
        }
        skipped++;
        log.accept("  warning: " + where + " step skipped, loss " + loss + " (" + skipped + " skipped so far)");
        return false;
    }

    /** Applies the optimiser step unless a gradient is non-finite; then the gradients are cleared. */
    void safeStep(Trainer tr, LanguageModel lm) {
        for (var p : lm.net().getParameters().values()) {
            if (!finiteGradient(p.getArray())) {
                if (abortOnNonFinite) {
                    throw new NonFiniteException("non-finite gradient in " + p.getName());
                }
                for (var q : lm.net().getParameters().values()) {
                    if (q.getArray().hasGradient()) {
                        // zero_() on the gradient tensor itself. Not getGradient().set(zeros): on the CPU,
                        // set() points the tensor's storage at a Java direct buffer that lives only as
                        // long as that (new, per call) handle, so once it was closed and collected,
                        // the next backward accumulated into freed memory and crashed the JVM in
                        // torch::autograd (the "crash shortly after a non-finite step" of BENCHMARKS.md).
                        JniUtils.zeroGrad((PtNDArray) q.getArray());
                    }
                }
                skipped++;
                log.accept("  warning: non-finite gradient in " + p.getName() + "; step skipped (" + skipped + ")");
                return;
            }
        }
        tr.step();
    }

    // ------------------------------------------------------------------ stages B and C

    /**
     * Prompt training. With {@code lora} the base is frozen and only adapters learn; demonstrations
     * are chosen with {@code strategy} by {@code selector}, re-selected at the start of each epoch
     * so that adaptive selection follows the model as it changes.
     */
    public void trainPrompts(LanguageModel lm, Map<Long, long[]> sequences, PromptTemplate template,
                             Neighbourhood neighbourhood, DemoSelector selector, Strategy strategy, boolean lora,
                             int epochs) {
        if (epochs == 0) {
            return;
        }
        RecLM net = lm.net();
        if (lora) {
            beginLora(lm);
        } else {
            net.freezeParameters(false);
            net.freezeParameters(true, p -> p.getName().contains(RecLM.LORA));
        }
        Random rnd = new Random(cfg.seed() * 7919L + (lora ? 1 : 0));
        long[] catalogue = lm.vocabulary().itemIds();
        List<Long> users = new ArrayList<>(sequences.keySet());
        Collections.sort(users);
        String stage = lora ? "C (LoRA, " + strategy.name().toLowerCase() + ")" : "B (" + strategy.name().toLowerCase() + ")";
        try (Trainer tr = newTrainer(lm, lora ? cfg.loraLr() : cfg.lr())) {
            for (int ep = 0; ep < epochs; ep++) {
                long t0 = System.nanoTime();
                List<Example> examples = sampleExamples(users, sequences, catalogue, rnd);
                List<DemoSelector.Target> targets = new ArrayList<>();
                for (Example e : examples) {
                    targets.add(new DemoSelector.Target(e.userId(), e.history(), neighbourhood.pool(e.userId(),
                            e.history(), selector.config().poolSize(), Long.MAX_VALUE)));
                }
                // Stage 2 inside training: with ADAPTIVE the current model re-ranks every pool here.
                List<List<Demonstration>> demos = selector.select(targets, strategy, cfg.m());
                long tSel = System.nanoTime();
                double loss = epoch(tr, lm, examples, demos, template, rnd, lora);
                log.accept(String.format("  stage %s epoch %d/%d: loss %.4f (%d prompts, select %.1fs, train %.1fs)",
                        stage, ep + 1, epochs, loss, examples.size(), (tSel - t0) / 1e9,
                        (System.nanoTime() - tSel) / 1e9));
                listener.afterEpoch(lora ? "C" : "B", ep + 1, lm);
            }
        }
        if (lora) {
            net.freezeParameters(true);   // serving never needs gradients
        }
    }

    /** Base frozen, adapters trainable and on; the model is known as "training" until saved. */
    private static void beginLora(LanguageModel lm) {
        if (lm.config().loraRank() == 0) {
            throw new IllegalStateException("LoRA fine-tuning requested but loraRank is 0");
        }
        RecLM net = lm.net();
        net.freezeParameters(true);
        net.freezeParameters(false, p -> p.getName().contains(RecLM.LORA));
        net.setLoraEnabled(true);
        lm.adapterTraining();
    }

    /**
     * A supervised prompt built from the stream (continuous refresh): the target's history before
     * the new item, the new item as target, its candidates, and the demonstrations chosen for it
     * when the example was built (by the production adapter, from the user's pool at that time).
     */
    public record StreamExample(long userId, long[] history, long target, long[] candidates,
                                List<Demonstration> demonstrations) {}

    /**
     * LoRA fine-tuning on prepared examples, continuing from whatever adapter is in place (a warm
     * start from the production adapter when the caller installed it). Demonstrations stay as given:
     * they were selected when the examples were built, so every arm's traffic is judged the same way.
     *
     * @return the mean loss of the last epoch
     */
    public double fineTune(LanguageModel lm, List<StreamExample> examples, PromptTemplate template, int epochs) {
        if (examples.isEmpty() || epochs == 0) {
            return Double.NaN;
        }
        beginLora(lm);
        Random rnd = new Random(cfg.seed() * 7919L + 2);
        double last = Double.NaN;
        try (Trainer tr = newTrainer(lm, cfg.loraLr())) {
            List<Example> plain = new ArrayList<>(examples.size());
            List<List<Demonstration>> demos = new ArrayList<>(examples.size());
            for (StreamExample e : examples) {
                plain.add(new Example(e.userId(), e.history(), e.target(), e.candidates()));
                demos.add(e.demonstrations());
            }
            for (int ep = 0; ep < epochs; ep++) {
                long t0 = System.nanoTime();
                last = epoch(tr, lm, plain, demos, template, rnd, true);
                log.accept(String.format("  refresh epoch %d/%d: loss %.4f (%d prompts, %.1fs)", ep + 1, epochs, last,
                        examples.size(), (System.nanoTime() - t0) / 1e9));
            }
        }
        lm.net().freezeParameters(true);
        return last;
    }

    /** One shuffled pass over {@code examples} with their demonstrations; the mean batch loss. */
    private double epoch(Trainer tr, LanguageModel lm, List<Example> examples, List<List<Demonstration>> demos,
                         PromptTemplate template, Random rnd, boolean lora) {
        List<Integer> order = shuffled(examples.size(), rnd);
        double sum = 0;
        int steps = 0;
        for (int b = 0; b < order.size(); b += cfg.batch()) {
            List<Prompt> prompts = new ArrayList<>();
            List<Example> batch = new ArrayList<>();
            for (int i = b; i < Math.min(order.size(), b + cfg.batch()); i++) {
                Example e = examples.get(order.get(i));
                batch.add(e);
                prompts.add(template.render(lm.vocabulary(), demos.get(order.get(i)), e.history(), e.candidates()));
            }
            sum += stepPrompts(tr, lm, prompts, batch);
            if (lora) {
                lm.adapterChanged();
            }
            steps++;
        }
        return sum / Math.max(1, steps);
    }

    /** Cut points: history = up to historyLen items before the cut, target = the item at it. */
    List<Example> sampleExamples(List<Long> users, Map<Long, long[]> sequences, long[] catalogue, Random rnd) {
        List<Example> out = new ArrayList<>();
        for (long u : users) {
            long[] s = sequences.get(u);
            if (s.length < 3) {
                continue;
            }
            Set<Long> seen = new HashSet<>();
            for (long x : s) {
                seen.add(x);
            }
            for (int k = 0; k < cfg.promptsPerUser(); k++) {
                int cut = 2 + rnd.nextInt(s.length - 2);
                long[] hist = Arrays.copyOfRange(s, Math.max(0, cut - cfg.historyLen()), cut);
                long[] cands = candidates(u, s[cut], seen, catalogue, rnd);
                if (cands.length == cfg.negatives() + 1) {   // a batch needs one candidate count
                    out.add(new Example(u, hist, s[cut], cands));
                }
            }
        }
        return out;
    }

    /**
     * The target plus {@code negatives} never-interacted items, shuffled: the one candidate sampler
     * ({@link CandidateSampler#withTarget}), on a stream drawn from the training RNG so every prompt
     * gets fresh negatives; fewer only for a user who saw nearly the whole catalogue.
     */
    long[] candidates(long user, long target, Set<Long> seen, long[] catalogue, Random rnd) {
        return CandidateSampler.withTarget(catalogue, user, target, cfg.negatives() + 1, rnd.nextLong(), seen::contains);
    }

    private double stepPrompts(Trainer tr, LanguageModel lm, List<Prompt> prompts, List<Example> batch) {
        Vocabulary vocab = lm.vocabulary();
        int maxLen = lm.config().maxLen();
        int t = Math.min(maxLen, prompts.stream().mapToInt(p -> p.tokens().length).max().orElse(1));
        int n = prompts.size();
        int c = batch.get(0).candidates().length;
        for (Example e : batch) {
            if (e.candidates().length != c) {
                throw new IllegalArgumentException("a training batch needs one candidate count: " + c + " and "
                        + e.candidates().length + " (user " + e.userId() + ")");
            }
        }
        long[] ids = new long[n * t];
        long[] ansPos = new long[n];
        long[] ansTgt = new long[n];
        long[] candTok = new long[n * c];
        long[] candTgt = new long[n];
        List<Long> lmPos = new ArrayList<>();
        List<Long> lmTgt = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int[] tok = prompts.get(r).tokens();
            int skip = Math.max(0, tok.length - t);
            for (int j = skip; j < tok.length; j++) {
                ids[r * t + j - skip] = tok[j];
            }
            ansPos[r] = (long) r * t + tok.length - 1 - skip;
            Example e = batch.get(r);
            ansTgt[r] = vocab.itemToken(e.target()) - vocab.itemStart();
            for (int j = 0; j < c; j++) {
                candTok[r * c + j] = vocab.itemToken(e.candidates()[j]);
                if (e.candidates()[j] == e.target()) {
                    candTgt[r] = j;
                }
            }
            int[] lp = prompts.get(r).lmPositions();
            int[] lt = prompts.get(r).lmTargets();
            for (int j = 0; j < lp.length; j++) {
                if (lp[j] >= skip) {
                    lmPos.add((long) r * t + lp[j] - skip);
                    lmTgt.add((long) lt[j] - vocab.itemStart());
                }
            }
        }
        try (NDManager sub = tr.getManager().newSubManager()) {
            float loss;
            try (GradientCollector gc = tr.newGradientCollector()) {
                NDList out = tr.forward(new NDList(sub.create(ids, new Shape(n, t))));
                NDArray flat = out.head().reshape(-1, lm.config().dModel());
                NDArray h = LanguageModel.gatherRows(flat, sub.create(ansPos));
                NDArray l = crossEntropy(RecLM.itemLogits(out, h, vocab.itemStart(), vocab.itemEnd()),
                        sub.create(ansTgt));
                if (cfg.candWeight() > 0) {
                    NDArray cl = RecLM.tokenLogits(out, h, sub.create(candTok, new Shape(n, c)), vocab.itemStart());
                    l = l.add(crossEntropy(cl, sub.create(candTgt)).mul(cfg.candWeight()));
                }
                if (cfg.lmWeight() > 0 && !lmPos.isEmpty()) {
                    NDArray hl = LanguageModel.gatherRows(flat,
                            sub.create(lmPos.stream().mapToLong(Long::longValue).toArray()));
                    l = l.add(crossEntropy(RecLM.itemLogits(out, hl, vocab.itemStart(), vocab.itemEnd()),
                            sub.create(lmTgt.stream().mapToLong(Long::longValue).toArray())).mul(cfg.lmWeight()));
                }
                loss = l.getFloat();
                if (!finiteOrSkip(lm, loss, "prompt training")) {
                    return 0;
                }
                gc.backward(l);
            }
            try {
                safeStep(tr, lm);
            } catch (NonFiniteException e) {
                // what the batch looked like, so that a failing round can be told apart from the ones that train
                int truncated = (int) prompts.stream().filter(p -> p.tokens().length > t).count();
                throw new NonFiniteException(e.getMessage() + String.format(" (batch of %d prompts, %d-%d tokens, window %d,"
                        + " %d truncated, %d LM targets, loss %.4f)", n,
                        prompts.stream().mapToInt(p -> p.tokens().length).min().orElse(0),
                        prompts.stream().mapToInt(p -> p.tokens().length).max().orElse(0), t, truncated,
                        lmPos.size(), loss));
            }
            return loss;
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Whether every element is finite. The temporaries are closed here: an op on a parameter or its
     * gradient attaches its result to the model's manager, which lives as long as the model, so
     * leaving them open leaked a parameter-sized array per parameter and step (RSS 12 GB after 60 stage-A epochs).
     */
    static boolean finite(NDArray a) {
        try (NDArray abs = a.abs(); NDArray sum = abs.sum()) {
            return Float.isFinite(sum.getFloat());
        }
    }

    /** As {@link #finite} for a parameter's gradient (true without one); the PyTorch engine hands out a
     *  new handle on every {@code getGradient()}, attached to the model's manager, so it is closed too. */
    static boolean finiteGradient(NDArray parameter) {
        if (!parameter.hasGradient()) {
            return true;
        }
        try (NDArray g = parameter.getGradient()) {
            return finite(g);
        }
    }

    /** Mean negative log-likelihood of {@code target (N)} under {@code logits (N, K)}. */
    static NDArray crossEntropy(NDArray logits, NDArray target) {
        return logits.logSoftmax(-1).gather(target.expandDims(-1), -1).neg().mean();
    }

    Trainer newTrainer(LanguageModel lm, float lr) {
        return newTrainer(lm, Tracker.fixed(lr));
    }

    /**
     * The learning rate of the sequence epochs ({@link TrainConfig#lrSchedule()}) for an optimiser that
     * starts after {@code offset} steps of the schedule (a rollback resets the optimiser, not the schedule).
     */
    Tracker scheduled(float lr, long stepsPerEpoch, int epochs, long offset) {
        if (cfg.lrSchedule().equals("fixed")) {
            return Tracker.fixed(lr);
        }
        long total = stepsPerEpoch * epochs;
        long warmup = Math.max(1, Math.min(stepsPerEpoch, total / 10));
        return numUpdate -> cosine(lr, offset + Math.max(0, numUpdate - 1), total, warmup);
    }

    /** Linear warm-up from lr / warmup to lr over {@code warmup} steps, then cosine decay to lr / 10 at {@code total}. */
    static float cosine(float lr, long step, long total, long warmup) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        double progress = Math.min(1.0, (step - warmup) / (double) Math.max(1, total - warmup));
        float floor = lr / 10;
        return (float) (floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    private Trainer newTrainer(LanguageModel lm, Tracker lr) {
        Optimizer opt = cfg.weightDecay() > 0
                ? Optimizer.adamW().optLearningRateTracker(lr).optWeightDecays(cfg.weightDecay())
                        .optBeta2(cfg.adamBeta2()).optClipGrad(1f).build()
                : Optimizer.adam().optLearningRateTracker(lr).optBeta2(cfg.adamBeta2()).optClipGrad(1f).build();
        DefaultTrainingConfig tc = new DefaultTrainingConfig(Loss.l2Loss())   // unused: own losses above
                .optDevices(new Device[] {Device.cpu()})
                .optOptimizer(opt);
        return lm.djlModel().newTrainer(tc);
    }

    private static List<Integer> shuffled(int n, Random rnd) {
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, rnd);
        return order;
    }
}
