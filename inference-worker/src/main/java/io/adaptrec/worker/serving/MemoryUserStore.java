package io.adaptrec.worker.serving;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** {@link UserStore} on the heap: about 1 KB per ML-100K-like user. */
final class MemoryUserStore implements UserStore {

    private final Map<Long, StateMirror.History> histories = new ConcurrentHashMap<>();
    private final Map<Long, StateMirror.Pool> pools = new ConcurrentHashMap<>();
    private final Map<Long, SeenSet> seen = new ConcurrentHashMap<>();

    @Override
    public StateMirror.History history(long user) {
        return histories.get(user);
    }

    @Override
    public StateMirror.Pool pool(long user) {
        return pools.get(user);
    }

    @Override
    public boolean seenBefore(long user, long item, long asOfMillis) {
        SeenSet s = seen.get(user);
        return s != null && s.seenBefore(item, asOfMillis);
    }

    @Override
    public void putHistory(long user, StateMirror.History h) {
        histories.put(user, h);
    }

    @Override
    public void putPool(long user, StateMirror.Pool p) {
        pools.put(user, p);
    }

    @Override
    public void removePool(long user) {
        pools.remove(user);
    }

    @Override
    public void addSeen(long user, long item, long atMillis) {
        seen.computeIfAbsent(user, u -> new SeenSet()).add(item, atMillis);
    }

    @Override
    public void removeUser(long user) {
        histories.remove(user);
        seen.remove(user);
    }

    @Override
    public int users() {
        return histories.size();
    }

    @Override
    public int pools() {
        return pools.size();
    }

    @Override
    public void close() {
        // nothing held outside the heap
    }

    /**
     * Distinct items of one user with the time each was first seen: sorted item ids and times in
     * parallel arrays (16 bytes per item, no boxing), so "seen before t" is a binary search.
     */
    static final class SeenSet {
        private long[] items = new long[4];
        private long[] first = new long[4];
        private int n;

        synchronized void add(long item, long at) {
            int i = Arrays.binarySearch(items, 0, n, item);
            if (i >= 0) {
                first[i] = Math.min(first[i], at);
                return;
            }
            int ins = -i - 1;
            if (n == items.length) {
                items = Arrays.copyOf(items, n * 2);
                first = Arrays.copyOf(first, n * 2);
            }
            System.arraycopy(items, ins, items, ins + 1, n - ins);
            System.arraycopy(first, ins, first, ins + 1, n - ins);
            items[ins] = item;
            first[ins] = at;
            n++;
        }

        synchronized boolean seenBefore(long item, long asOfMillis) {
            int i = Arrays.binarySearch(items, 0, n, item);
            return i >= 0 && first[i] < asOfMillis;
        }
    }
}
