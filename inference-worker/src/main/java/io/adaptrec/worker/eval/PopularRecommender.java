package io.adaptrec.worker.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The most-popular baseline: an item's score is how often it occurs in the training sequences.
 * Items never seen in training score 0 (and tie, which the pessimistic rank rule punishes).
 */
public final class PopularRecommender implements Recommender {

    public static final String NAME = "popular";

    private final Map<Long, Integer> counts;

    private PopularRecommender(Map<Long, Integer> counts) {
        this.counts = counts;
    }

    public static PopularRecommender fit(Map<Long, UserSequence> sequences) {
        Map<Long, Integer> counts = new HashMap<>();
        for (UserSequence s : sequences.values()) {
            for (long item : s.items()) {
                counts.merge(item, 1, Integer::sum);
            }
        }
        return new PopularRecommender(counts);
    }

    /** A factory for {@link EvalRunner}; the seed is irrelevant, the model is deterministic. */
    public static RecommenderFactory factory() {
        return (data, seed) -> List.of(fit(data.sequences()));
    }

    public int count(long itemId) {
        return counts.getOrDefault(itemId, 0);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public float[][] score(List<Query> queries) {
        float[][] out = new float[queries.size()][];
        for (int q = 0; q < out.length; q++) {
            long[] candidates = queries.get(q).candidates();
            float[] row = new float[candidates.length];
            for (int i = 0; i < row.length; i++) {
                row[i] = count(candidates[i]);
            }
            out[q] = row;
        }
        return out;
    }

    @Override
    public boolean supportsFullRanking() {
        return true;
    }
}
