package io.adaptrec.worker.selection;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stage 1 from training data: the pool is the Top-N training users by cosine similarity of
 * sequence embeddings ({@link SimilarUsers}), each member's history their training sequence.
 *
 * <p>Time-safe when event times are given and a query names its moment ({@code asOfMillis}, the
 * target's time in offline evaluation): every training user is then taken as they were strictly
 * before it, for the pool (embeddings of their earlier items), the similarities and the
 * demonstrations alike, exactly as the live pools can only know the past. Without times, or with
 * {@link Long#MAX_VALUE}, whole training sequences are used (the behaviour before time-safety,
 * kept for comparison: on llara a demonstration's "then chose" item could lie after the target).
 */
public final class OfflineNeighbourhood implements Neighbourhood {

    private final SimilarUsers index;
    private final Map<Long, long[]> sequences;
    private final Map<Long, long[]> times;
    private final String embeddingVersion;

    public OfflineNeighbourhood(SimilarUsers index, Map<Long, long[]> sequences, String embeddingVersion) {
        this(index, sequences, null, embeddingVersion);
    }

    /** @param times event times parallel to {@code sequences} (null: not time-aware) */
    public OfflineNeighbourhood(SimilarUsers index, Map<Long, long[]> sequences, Map<Long, long[]> times,
                                String embeddingVersion) {
        this.index = index;
        this.sequences = sequences;
        this.times = times;
        this.embeddingVersion = embeddingVersion;
    }

    @Override
    public Pool pool(long userId, long[] history, int n, long asOfMillis) {
        List<Member> members = new ArrayList<>(n);
        if (times == null || asOfMillis == Long.MAX_VALUE) {
            for (SimilarUsers.Neighbour nb : index.pool(history, userId, n)) {
                members.add(new Member(nb.userId(), nb.similarity(), sequences.get(nb.userId())));
            }
        } else {
            Map<Long, long[]> prefixes = new HashMap<>();
            for (SimilarUsers.Neighbour nb : index.pool(history, userId, n, u -> prefixes.computeIfAbsent(u,
                    k -> before(k, asOfMillis)))) {
                members.add(new Member(nb.userId(), nb.similarity(), prefixes.get(nb.userId())));
            }
        }
        return members.isEmpty() ? Pool.EMPTY : new Pool(members, embeddingVersion, 0);
    }

    /** {@code user}'s training items strictly before {@code asOfMillis}. */
    private long[] before(long user, long asOfMillis) {
        long[] items = sequences.get(user);
        long[] t = times.get(user);
        if (items == null || t == null) {
            return new long[0];
        }
        int lo = 0;
        int hi = t.length;
        while (lo < hi) {   // first index with t >= asOf
            int mid = (lo + hi) >>> 1;
            if (t[mid] < asOfMillis) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == items.length ? items : java.util.Arrays.copyOf(items, lo);
    }
}
