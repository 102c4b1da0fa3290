package io.adaptrec.worker.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The most-popular baseline: an item's score is how often it occurs in the training sequences,
 * counting for a query that names its moment ({@link Query#asOfMillis}) only interactions before it
 * (time-safe). Items never seen score 0 (and tie, which the pessimistic rank rule punishes).
 */
public final class PopularRecommender implements Recommender {

    public static final String NAME = "popular";

    private final Map<Long, Integer> counts;
    private final long[] times;   // every training interaction, by time
    private final long[] items;   // parallel to times

    private PopularRecommender(Map<Long, Integer> counts, long[] times, long[] items) {
        this.counts = counts;
        this.times = times;
        this.items = items;
    }

    public static PopularRecommender fit(Map<Long, UserSequence> sequences) {
        Map<Long, Integer> counts = new HashMap<>();
        List<long[]> events = new java.util.ArrayList<>();
        for (UserSequence s : sequences.values()) {
            for (int i = 0; i < s.items().length; i++) {
                counts.merge(s.items()[i], 1, Integer::sum);
                events.add(new long[] {s.timesMillis()[i], s.items()[i]});
            }
        }
        events.sort((a, b) -> Long.compare(a[0], b[0]));
        long[] t = new long[events.size()];
        long[] it = new long[events.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = events.get(i)[0];
            it[i] = events.get(i)[1];
        }
        return new PopularRecommender(counts, t, it);
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
        // queries in order of their moment; counts grow as the sweep passes interactions before each
        Integer[] order = new Integer[queries.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Long.compare(queries.get(a).asOfMillis(), queries.get(b).asOfMillis()));
        Map<Long, Integer> upTo = new HashMap<>();
        int next = 0;
        for (int q : order) {
            long asOf = queries.get(q).asOfMillis();
            Map<Long, Integer> c = counts;
            if (asOf != Long.MAX_VALUE) {
                while (next < times.length && times[next] < asOf) {
                    upTo.merge(items[next++], 1, Integer::sum);
                }
                c = upTo;
            }
            long[] candidates = queries.get(q).candidates();
            float[] row = new float[candidates.length];
            for (int i = 0; i < row.length; i++) {
                row[i] = c.getOrDefault(candidates[i], 0);
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
