package io.adaptrec.worker.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws the negatives of one query uniformly, without replacement, from the catalogue items the
 * user never interacted with, and shuffles the target in among them.
 *
 * <p>The random stream depends only on (seed, user, target), never on iteration order, so every
 * variant, run and thread sees the very same candidates for a seed. The target's position is
 * random so that a recommender cannot profit from position (ties are ranked pessimistically
 * anyway, see {@link Metrics}).
 */
public final class CandidateSampler {

    private CandidateSampler() {}

    /** Whether {@code h} leaves at least {@code negatives} items to sample from. */
    static boolean feasible(long[] catalogueSorted, Holdout h, int negatives) {
        return catalogueSorted.length - countIn(catalogueSorted, h.interacted()) >= negatives;
    }

    static long[] candidates(long[] catalogueSorted, Holdout h, int count, long seed) {
        SplittableRandom rng = new SplittableRandom(mix(mix(seed, h.userId()), h.target()));
        long[] out = Arrays.copyOf(unseen(catalogueSorted, h.userId(), h.interacted(), count - 1, rng), count);
        out[count - 1] = h.target();
        for (int i = count - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
        return out;
    }

    /**
     * {@code count} distinct catalogue items drawn uniformly from those not in {@code interactedSorted}
     * (e.g. the candidates of a benchmark request, which has no target).
     *
     * @throws IllegalStateException when fewer than {@code count} such items exist
     */
    public static long[] unseen(long[] catalogueSorted, long userId, long[] interactedSorted, int count,
                                SplittableRandom rng) {
        int negatives = count;
        long[] out = new long[count];
        long[] interacted = interactedSorted;
        if (interacted.length * 2 < catalogueSorted.length) {
            // Sparse users (the usual case): rejection sampling touches ~count items, not the catalogue.
            int found = 0;
            while (found < negatives) {
                long pick = catalogueSorted[rng.nextInt(catalogueSorted.length)];
                if (Arrays.binarySearch(interacted, pick) < 0 && !contains(out, found, pick)) {
                    out[found++] = pick;
                }
            }
        } else {
            long[] pool = Arrays.stream(catalogueSorted).filter(i -> Arrays.binarySearch(interacted, i) < 0).toArray();
            if (pool.length < negatives) {
                throw new IllegalStateException("user " + userId + " leaves only " + pool.length
                        + " never-interacted items, " + negatives + " needed");
            }
            for (int i = 0; i < negatives; i++) {
                int j = i + rng.nextInt(pool.length - i);
                long t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
                out[i] = pool[i];
            }
        }
        return out;
    }

    /**
     * The candidates of a query built from the stream (continuous refresh), where the user's seen set
     * is a lookup rather than a sorted array: {@code target} plus {@code count - 1} distinct items
     * drawn uniformly from the catalogue items for which {@code seen} is false, shuffled, with the
     * same (seed, user, target) random stream as {@link #candidates}. Fewer negatives come back only
     * when 100 x count draws did not find enough (a user who saw nearly everything).
     */
    public static long[] withTarget(long[] catalogueSorted, long userId, long target, int count, long seed,
                                    java.util.function.LongPredicate seen) {
        SplittableRandom rng = new SplittableRandom(mix(mix(seed, userId), target));
        long[] out = new long[count];
        out[0] = target;
        int found = 1;
        for (int tries = 0; found < count && tries < 100 * count; tries++) {
            long pick = catalogueSorted[rng.nextInt(catalogueSorted.length)];
            if (!seen.test(pick) && !contains(out, found, pick)) {
                out[found++] = pick;
            }
        }
        out = Arrays.copyOf(out, found);
        for (int i = found - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
        return out;
    }

    private static boolean contains(long[] a, int length, long v) {
        for (int i = 0; i < length; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }

    private static int countIn(long[] sorted, long[] values) {
        int n = 0;
        for (long v : values) {
            if (Arrays.binarySearch(sorted, v) >= 0) {
                n++;
            }
        }
        return n;
    }

    /** SplitMix64 finaliser: decorrelates nearby seeds and ids. */
    static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
