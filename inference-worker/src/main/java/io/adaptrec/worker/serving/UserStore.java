package io.adaptrec.worker.serving;

import java.nio.file.Path;

/**
 * Where the {@link StateMirror} keeps what it knows per user: the history window, the pool and
 * the seen set. One writer (the mirror's consumer thread), many readers (serving threads).
 * {@link #inMemory()} for populations that fit the heap; {@link #rocksDb(Path)} keeps them on
 * local disk (bounded memory: RocksDB's block cache and memtables) for populations that do not.
 */
public interface UserStore extends AutoCloseable {

    StateMirror.History history(long user);

    StateMirror.Pool pool(long user);

    /** Whether {@code user} interacted with {@code item} strictly before {@code asOfMillis}. */
    boolean seenBefore(long user, long item, long asOfMillis);

    void putHistory(long user, StateMirror.History h);

    void putPool(long user, StateMirror.Pool p);

    void removePool(long user);

    /** Records an interaction; the earliest time per (user, item) is kept. */
    void addSeen(long user, long item, long atMillis);

    /**
     * A deleted user ({@code user-state} tombstone): history and seen set go. Their pool goes with
     * the pools job's own tombstone on {@code user-pools}; removing it here would make the result
     * depend on how the two topics interleave. A user without history is a cold start anyway.
     */
    void removeUser(long user);

    /** Users with a history. */
    int users();

    int pools();

    @Override
    void close();

    static UserStore inMemory() {
        return new MemoryUserStore();
    }

    static UserStore rocksDb(Path dir) {
        return new RocksDbUserStore(dir);
    }
}
