package io.adaptrec.worker.selection;

import io.adaptrec.worker.model.Vocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * AdaptRec stage 1 (offline): every training user's sequence embedding is the L2-normalised mean of
 * the embeddings of their most recent items; a target's similar-user pool is the Top-N training
 * users by cosine similarity. Built from training sequences only, so no test item can leak in.
 */
public final class SimilarUsers {

    /** A pool member and its cosine similarity to the target. */
    public record Neighbour(long userId, float similarity) {}

    private final Vocabulary vocab;
    private final float[] itemEmb;   // (I, D) row-major
    private final int d;
    private final int recent;
    private final long[] users;
    private final float[] userEmb;   // (U, D) unit rows

    /**
     * @param sequences training sequences (oldest first) by user
     * @param itemEmb   item embeddings (I, D) row-major, in the vocabulary's item order
     * @param recent    how many of a user's most recent items form their embedding
     */
    public SimilarUsers(Map<Long, long[]> sequences, Vocabulary vocab, float[] itemEmb, int recent) {
        if (recent < 1) {
            throw new IllegalArgumentException("recent must be >= 1, got " + recent);
        }
        this.vocab = vocab;
        this.itemEmb = itemEmb;
        this.d = itemEmb.length / vocab.itemCount();
        this.recent = recent;
        this.users = sequences.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        this.userEmb = new float[users.length * d];
        for (int u = 0; u < users.length; u++) {
            System.arraycopy(embed(sequences.get(users[u])), 0, userEmb, u * d, d);
        }
    }

    /** L2-normalised mean item embedding of the last {@code recent} items of {@code history}. */
    public float[] embed(long[] history) {
        float[] v = new float[d];
        int from = Math.max(0, history.length - recent);
        for (int i = from; i < history.length; i++) {
            int tok = vocab.itemToken(history[i]);
            if (tok == Vocabulary.UNK) {
                continue;
            }
            int row = (tok - vocab.itemStart()) * d;
            for (int j = 0; j < d; j++) {
                v[j] += itemEmb[row + j];
            }
        }
        double norm = 0;
        for (float x : v) {
            norm += x * x;
        }
        float inv = norm > 0 ? (float) (1 / Math.sqrt(norm)) : 0f;
        for (int j = 0; j < d; j++) {
            v[j] *= inv;
        }
        return v;
    }

    /** The Top-N most similar training users to {@code history}, never {@code excludeUser} itself. */
    public List<Neighbour> pool(long[] history, long excludeUser, int n) {
        float[] q = embed(history);
        float[] sim = new float[users.length];
        Integer[] idx = new Integer[users.length];
        for (int u = 0; u < users.length; u++) {
            float s = 0;
            for (int j = 0; j < d; j++) {
                s += q[j] * userEmb[u * d + j];
            }
            sim[u] = users[u] == excludeUser ? Float.NEGATIVE_INFINITY : s;
            idx[u] = u;
        }
        Arrays.sort(idx, (a, b) -> sim[a] != sim[b] ? Float.compare(sim[b], sim[a]) : Long.compare(users[a], users[b]));
        List<Neighbour> out = new ArrayList<>(n);
        for (int i = 0; i < Math.min(n, idx.length) && sim[idx[i]] != Float.NEGATIVE_INFINITY; i++) {
            out.add(new Neighbour(users[idx[i]], sim[idx[i]]));
        }
        return out;
    }

    /**
     * The Top-N training users as they were at a moment: each user's embedding is computed from
     * {@code prefixOf(user)} (their items before that moment; an empty prefix leaves them out), so
     * neither the pool nor its similarities see anything later. Same order and tie rule as
     * {@link #pool(long[], long, int)}.
     */
    public List<Neighbour> pool(long[] history, long excludeUser, int n, java.util.function.LongFunction<long[]> prefixOf) {
        float[] q = embed(history);
        List<Neighbour> all = new ArrayList<>(users.length);
        for (long user : users) {
            long[] prefix = user == excludeUser ? null : prefixOf.apply(user);
            if (prefix == null || prefix.length == 0) {
                continue;
            }
            float[] e = embed(prefix);
            float s = 0;
            for (int j = 0; j < d; j++) {
                s += q[j] * e[j];
            }
            all.add(new Neighbour(user, s));
        }
        all.sort((a, b) -> a.similarity() != b.similarity() ? Float.compare(b.similarity(), a.similarity())
                : Long.compare(a.userId(), b.userId()));
        return all.subList(0, Math.min(n, all.size()));
    }

    public int size() {
        return users.length;
    }
}
