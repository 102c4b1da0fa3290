package io.adaptrec.worker.model;

import java.util.List;

/**
 * How far two engines' scores of the same prompts lie apart: the largest |difference| of any
 * score, and in how many prompts the top candidate is the same.
 */
public record ScoreComparison(int prompts, double maxAbsDifference, int sameTop) {

    public static ScoreComparison of(List<float[]> a, List<float[]> b) {
        int n = Math.min(a.size(), b.size());
        double max = 0;
        int same = 0;
        for (int i = 0; i < n; i++) {
            float[] x = a.get(i);
            float[] y = b.get(i);
            for (int j = 0; j < x.length; j++) {
                max = Math.max(max, Math.abs(x[j] - y[j]));
            }
            same += argmax(x) == argmax(y) ? 1 : 0;
        }
        return new ScoreComparison(n, max, same);
    }

    public double sameTopShare() {
        return prompts == 0 ? 0 : (double) sameTop / prompts;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
