package io.adaptrec.streams;

import java.util.List;
import java.util.function.LongFunction;

/**
 * The user's sequence embedding (AdaptRec stage 1, "user similarity retrieval"): the
 * L2-normalised mean of the embeddings of the items in the recent history. Optionally weighted by
 * recency: the item at position p from the newest (p = 0) weighs 0.5^(p / halfLife). A half-life
 * of 0 gives the paper's plain mean.
 *
 * <p>Positions count every window entry, including items without a vector, so an unknown item
 * still "ages" the older ones exactly as it will once its vector arrives.
 */
public final class SequenceEmbedding {

    /**
     * @param embedding unit vector, or empty when no window item had a usable vector
     * @param used      items that contributed
     * @param missing   items left out (no vector in this version, or a dimension that does not
     *                  match the first vector found)
     */
    public record Result(float[] embedding, int used, int missing) {}

    private SequenceEmbedding() {}

    /**
     * @param oldestFirst the window, oldest first (as {@link UserHistory#entries()})
     * @param lookup      item id to its vector in the target version, or null when it has none
     */
    public static Result compute(List<UserHistory.Entry> oldestFirst, LongFunction<float[]> lookup,
                                 double halfLife) {
        double[] acc = null;
        int used = 0, missing = 0;
        int n = oldestFirst.size();
        double decay = halfLife > 0 ? Math.pow(0.5, 1.0 / halfLife) : 1.0;
        double weight = 1.0;
        // newest first, so the weight is a running product rather than a pow per item
        for (int i = n - 1; i >= 0; i--, weight *= decay) {
            float[] v = lookup.apply(oldestFirst.get(i).itemId());
            if (v == null || v.length == 0 || (acc != null && v.length != acc.length)) {
                missing++;
                continue;
            }
            if (acc == null) acc = new double[v.length];
            for (int d = 0; d < v.length; d++) acc[d] += weight * v[d];
            used++;
        }
        if (acc == null) return new Result(new float[0], 0, missing);
        double norm = 0;
        for (double x : acc) norm += x * x;
        if (!(norm > 0) || Double.isInfinite(norm)) return new Result(new float[0], used, missing);
        double inv = 1.0 / Math.sqrt(norm);
        float[] out = new float[acc.length];
        for (int d = 0; d < acc.length; d++) out[d] = (float) (acc[d] * inv);
        return new Result(out, used, missing);
    }
}
