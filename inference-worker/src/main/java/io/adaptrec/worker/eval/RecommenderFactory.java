package io.adaptrec.worker.eval;

import java.util.List;

/**
 * Trains on a protocol's training data and returns the variants it makes possible. One training
 * run may serve several variants (e.g. one RecLM evaluated with four selection strategies), so a
 * factory returns a list; every returned {@link Recommender#name()} must be unique in a run.
 */
@FunctionalInterface
public interface RecommenderFactory {

    /**
     * @param data training sequences, catalogue and validation cases; never test targets
     * @param seed the evaluation seed, for seeding initialisation and sampling during training
     */
    List<Recommender> create(TrainingData data, long seed) throws Exception;
}
