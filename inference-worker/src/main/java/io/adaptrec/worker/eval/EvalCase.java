package io.adaptrec.worker.eval;

/** A query with its answer. The target is one of {@code query.candidates()}, at a seeded random position. */
public record EvalCase(Query query, long target) {

    public int targetIndex() {
        long[] c = query.candidates();
        for (int i = 0; i < c.length; i++) {
            if (c[i] == target) {
                return i;
            }
        }
        throw new IllegalStateException("target " + target + " is not among the candidates of user " + query.userId());
    }
}
