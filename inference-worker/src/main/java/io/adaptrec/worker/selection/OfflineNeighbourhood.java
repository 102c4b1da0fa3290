package io.adaptrec.worker.selection;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Stage 1 from training data: the pool is the Top-N training users by cosine similarity of
 * sequence embeddings ({@link SimilarUsers}), and each member's history is their whole training
 * sequence. Time-safety comes from the protocol: training sequences end before every held-out
 * target. {@code asOfMillis} is ignored here because training sequences carry no times.
 */
public final class OfflineNeighbourhood implements Neighbourhood {

    private final SimilarUsers index;
    private final Map<Long, long[]> sequences;
    private final String embeddingVersion;

    public OfflineNeighbourhood(SimilarUsers index, Map<Long, long[]> sequences, String embeddingVersion) {
        this.index = index;
        this.sequences = sequences;
        this.embeddingVersion = embeddingVersion;
    }

    @Override
    public Pool pool(long userId, long[] history, int n, long asOfMillis) {
        List<Member> members = new ArrayList<>(n);
        for (SimilarUsers.Neighbour nb : index.pool(history, userId, n)) {
            members.add(new Member(nb.userId(), nb.similarity(), sequences.get(nb.userId())));
        }
        return members.isEmpty() ? Pool.EMPTY : new Pool(members, embeddingVersion, 0);
    }
}
