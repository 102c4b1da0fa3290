package io.adaptrec.worker.selection;

import java.util.List;

/**
 * AdaptRec stage 1, as a seam: where a target user's similar-user pool and the pool members'
 * histories come from. Two implementations: {@link OfflineNeighbourhood} (training data, for
 * offline evaluation and training) and the worker's live one (the materialised {@code user-state}
 * and {@code user-pools} topics). Stages 2 and 3 see only the {@link Pool} it returns, so offline
 * and online recommendations run through the same code.
 */
public interface Neighbourhood {

    /**
     * The target's pool, most similar first, with every member's history as of now (or as of
     * {@code asOfMillis}: only interactions strictly before it).
     *
     * @param history    the target's recent history, oldest first (offline stage 1 embeds it)
     * @param n          pool size N
     * @param asOfMillis event-time cut for member histories; {@link Long#MAX_VALUE} for none
     */
    Pool pool(long userId, long[] history, int n, long asOfMillis);

    /** A pool member: id, cosine similarity to the target, and history oldest first. */
    record Member(long userId, float similarity, long[] history) {}

    /**
     * @param members          most similar first; never the target itself
     * @param embeddingVersion the embedding space the similarities were computed in
     * @param version          per-user pool version (changes whenever the membership changes; 0 offline)
     */
    record Pool(List<Member> members, String embeddingVersion, long version) {
        public static final Pool EMPTY = new Pool(List.of(), null, 0);

        public boolean isEmpty() {
            return members.isEmpty();
        }

        /** Order-sensitive hash of the member ids: part of every selection cache key. */
        public long membersHash() {
            long h = 1125899906842597L;
            for (Member m : members) {
                h = 31 * h + m.userId();
            }
            return h;
        }
    }
}
