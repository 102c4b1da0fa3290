package io.adaptrec.worker.eval;

import java.util.List;

/**
 * The seam between the evaluation harness and everything it evaluates (RecLM variants, SASRec,
 * most-popular). Implementations are trained beforehand on the protocol's training split only.
 */
public interface Recommender {

    /** Variant name as it appears in reports, e.g. {@code "adaptrec"}, {@code "popular"}. */
    String name();

    /**
     * Scores every candidate of every query; higher is better. The result has one row per query
     * and one score per candidate, in the candidates' order.
     */
    float[][] score(List<Query> queries);

    /**
     * Whether {@link #score} is practical with the whole catalogue as candidates. The harness then
     * also measures full-catalogue HR@10 / NDCG@10 under {@code loo}, passing queries whose
     * candidates are every item the user had not interacted with before the target, plus the
     * target (about as many as the catalogue). Variants that keep the default are reported as n/a.
     */
    default boolean supportsFullRanking() {
        return false;
    }
}
