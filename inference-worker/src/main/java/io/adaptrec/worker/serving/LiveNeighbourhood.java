package io.adaptrec.worker.serving;

import io.adaptrec.worker.selection.Neighbourhood;
import java.util.ArrayList;
import java.util.List;

/**
 * Stage 1 from the live system: the pool the Flink job keeps for the user on {@code user-pools},
 * and each member's history from {@code user-state}, both read from the worker's {@link StateMirror}.
 * The pool's similarities were computed by the pools job in the pool's embedding version; the
 * target's {@code history} argument is not re-embedded here.
 *
 * <p>Members without a state (deleted users, or not yet mirrored) are left out, and with an
 * {@code asOf} cut each member's history keeps only the interactions strictly before it.
 */
public final class LiveNeighbourhood implements Neighbourhood {

    private final StateMirror mirror;

    public LiveNeighbourhood(StateMirror mirror) {
        this.mirror = mirror;
    }

    @Override
    public Pool pool(long userId, long[] history, int n, long asOfMillis) {
        StateMirror.Pool p = mirror.pool(userId);
        if (p == null) {
            return Pool.EMPTY;
        }
        List<Member> members = new ArrayList<>(Math.min(n, p.members().length));
        for (int i = 0; i < p.members().length && members.size() < n; i++) {
            long m = p.members()[i];
            StateMirror.History h = m == userId ? null : mirror.history(m);
            if (h == null) {
                continue;
            }
            long[] before = h.itemsBefore(asOfMillis);
            if (before.length > 0) {
                members.add(new Member(m, p.similarities()[i], before));
            }
        }
        return members.isEmpty() ? Pool.EMPTY : new Pool(members, p.embeddingVersion(), p.version());
    }
}
