package io.adaptrec.worker.eval;

import java.util.List;
import java.util.Objects;

/**
 * How {@link EvalRunner} runs.
 *
 * @param seeds          candidate-sampling (and training) seeds; mean and spread are over these
 * @param stage          {@code TEST} for reporting, {@code VALIDATION} for tuning
 * @param retrainPerSeed true: every factory trains once per seed (spread includes training
 *                       noise); false: once with the first seed, then evaluated on every seed's
 *                       candidates (spread is sampling noise only, much cheaper)
 * @param fullRanking    under {@code loo}, also measure full-catalogue HR@10 / NDCG@10 for
 *                       recommenders that {@link Recommender#supportsFullRanking() support it}
 * @param batchSize      queries per {@link Recommender#score} call
 * @param progress       show a progress bar on stderr
 */
public record EvalConfig(List<Long> seeds, Stage stage, boolean retrainPerSeed, boolean fullRanking,
        int batchSize, boolean progress) {

    public EvalConfig {
        Objects.requireNonNull(seeds, "seeds");
        Objects.requireNonNull(stage, "stage");
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("eval.seeds must name at least one seed (the paper's protocol uses >= 3)");
        }
        if (seeds.stream().distinct().count() != seeds.size()) {
            throw new IllegalArgumentException("eval.seeds must be distinct, got " + seeds);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("eval.batchSize = " + batchSize + " is invalid: must be >= 1");
        }
        seeds = List.copyOf(seeds);
    }

    /** Seeds 1..count, test stage, retrain per seed, full ranking on, batches of 64, progress bar. */
    public static EvalConfig defaults(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("eval.seeds = " + count + " is invalid: must be >= 1");
        }
        return new EvalConfig(java.util.stream.LongStream.rangeClosed(1, count).boxed().toList(), Stage.TEST, true,
                true, 64, true);
    }

    public EvalConfig withProgress(boolean show) {
        return new EvalConfig(seeds, stage, retrainPerSeed, fullRanking, batchSize, show);
    }

    public EvalConfig withStage(Stage newStage) {
        return new EvalConfig(seeds, newStage, retrainPerSeed, fullRanking, batchSize, progress);
    }

    public EvalConfig withRetrainPerSeed(boolean retrain) {
        return new EvalConfig(seeds, stage, retrain, fullRanking, batchSize, progress);
    }

    public EvalConfig withBatchSize(int size) {
        return new EvalConfig(seeds, stage, retrainPerSeed, fullRanking, size, progress);
    }
}
