package io.adaptrec.worker.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Turns a row of candidate scores into a ranked list, best first (ties keep candidate order). */
public final class Ranking {

    /** One ranked candidate. */
    public record Scored(long itemId, float score) {}

    private Ranking() {}

    public static List<Scored> scored(long[] candidates, float[] scores) {
        if (candidates.length != scores.length) {
            throw new IllegalArgumentException(candidates.length + " candidates but " + scores.length + " scores");
        }
        List<Scored> out = new ArrayList<>(candidates.length);
        for (int i = 0; i < candidates.length; i++) {
            out.add(new Scored(candidates[i], scores[i]));
        }
        out.sort(Comparator.comparingDouble((Scored s) -> s.score()).reversed());
        return out;
    }

    public static List<Long> rank(long[] candidates, float[] scores) {
        return scored(candidates, scores).stream().map(Scored::itemId).toList();
    }
}
