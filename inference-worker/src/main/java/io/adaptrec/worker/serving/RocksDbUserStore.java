package io.adaptrec.worker.serving;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/**
 * {@link UserStore} on local disk (RocksDB): memory is bounded by RocksDB's memtables and block
 * cache whatever the population. Three column families; the seen keys sort by (user, item), so
 * a user's seen items are one contiguous range: {@code history} (user → items, times, embedding version), {@code pool}
 * (user → members, similarities, embedding version, pool version), {@code seen}
 * ((user, item) → first time). The directory is a cache of the topics: it is wiped at start and
 * rebuilt by the mirror's catch-up, so it never needs a changelog or a migration.
 */
final class RocksDbUserStore implements UserStore {

    static {
        RocksDB.loadLibrary();
    }

    private final DBOptions options;
    private final ColumnFamilyOptions cfOptions;
    private final RocksDB db;
    private final ColumnFamilyHandle history;
    private final ColumnFamilyHandle pool;
    private final ColumnFamilyHandle seen;
    private final List<ColumnFamilyHandle> handles = new ArrayList<>();
    private final AtomicInteger users = new AtomicInteger();
    private final AtomicInteger pools = new AtomicInteger();

    RocksDbUserStore(Path dir) {
        try {
            wipe(dir);
            Files.createDirectories(dir);
            options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
            cfOptions = new ColumnFamilyOptions().setWriteBufferSize(16L << 20);
            List<ColumnFamilyDescriptor> cfs = List.of(
                    new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
                    new ColumnFamilyDescriptor("history".getBytes(), cfOptions),
                    new ColumnFamilyDescriptor("pool".getBytes(), cfOptions),
                    new ColumnFamilyDescriptor("seen".getBytes(), cfOptions));
            db = RocksDB.open(options, dir.toString(), cfs, handles);
            history = handles.get(1);
            pool = handles.get(2);
            seen = handles.get(3);
        } catch (RocksDBException | IOException e) {
            throw new IllegalStateException("cannot open the worker's state store at " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void wipe(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static byte[] key(long user) {
        return ByteBuffer.allocate(8).putLong(user).array();
    }

    /** Sign bits flipped, so RocksDB's unsigned byte order is the numeric order of (user, item). */
    private static byte[] key(long user, long item) {
        return ByteBuffer.allocate(16).putLong(user ^ Long.MIN_VALUE).putLong(item ^ Long.MIN_VALUE).array();
    }

    private byte[] get(ColumnFamilyHandle cf, byte[] k) {
        try {
            return db.get(cf, k);
        } catch (RocksDBException e) {
            throw new IllegalStateException("state store read failed: " + e.getMessage(), e);
        }
    }

    private void put(ColumnFamilyHandle cf, byte[] k, byte[] v) {
        try {
            db.put(cf, k, v);
        } catch (RocksDBException e) {
            throw new IllegalStateException("state store write failed: " + e.getMessage(), e);
        }
    }

    private void delete(ColumnFamilyHandle cf, byte[] k) {
        try {
            db.delete(cf, k);
        } catch (RocksDBException e) {
            throw new IllegalStateException("state store write failed: " + e.getMessage(), e);
        }
    }

    @Override
    public StateMirror.History history(long user) {
        byte[] v = get(history, key(user));
        if (v == null) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(v))) {
            int n = in.readInt();
            long[] items = new long[n];
            long[] times = new long[n];
            for (int i = 0; i < n; i++) {
                items[i] = in.readLong();
                times[i] = in.readLong();
            }
            return new StateMirror.History(items, times, in.readBoolean() ? in.readUTF() : null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public StateMirror.Pool pool(long user) {
        byte[] v = get(pool, key(user));
        if (v == null) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(v))) {
            int n = in.readInt();
            long[] members = new long[n];
            float[] sims = new float[n];
            for (int i = 0; i < n; i++) {
                members[i] = in.readLong();
                sims[i] = in.readFloat();
            }
            String version = in.readBoolean() ? in.readUTF() : null;
            return new StateMirror.Pool(members, sims, version, in.readLong());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public boolean seenBefore(long user, long item, long asOfMillis) {
        byte[] v = get(seen, key(user, item));
        return v != null && ByteBuffer.wrap(v).getLong() < asOfMillis;
    }

    @Override
    public void putHistory(long user, StateMirror.History h) {
        byte[] k = key(user);
        if (get(history, k) == null) {
            users.incrementAndGet();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 * h.items().length + 32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(h.items().length);
            for (int i = 0; i < h.items().length; i++) {
                out.writeLong(h.items()[i]);
                out.writeLong(h.times()[i]);
            }
            writeNullable(out, h.embeddingVersion());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        put(history, k, bytes.toByteArray());
    }

    @Override
    public void putPool(long user, StateMirror.Pool p) {
        byte[] k = key(user);
        if (get(pool, k) == null) {
            pools.incrementAndGet();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(12 * p.members().length + 48);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(p.members().length);
            for (int i = 0; i < p.members().length; i++) {
                out.writeLong(p.members()[i]);
                out.writeFloat(p.similarities()[i]);
            }
            writeNullable(out, p.embeddingVersion());
            out.writeLong(p.version());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        put(pool, k, bytes.toByteArray());
    }

    private static void writeNullable(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    @Override
    public void removePool(long user) {
        byte[] k = key(user);
        if (get(pool, k) != null) {
            pools.decrementAndGet();
            delete(pool, k);
        }
    }

    @Override
    public void addSeen(long user, long item, long atMillis) {
        byte[] k = key(user, item);
        byte[] v = get(seen, k);
        if (v == null || ByteBuffer.wrap(v).getLong() > atMillis) {
            put(seen, k, ByteBuffer.allocate(8).putLong(atMillis).array());
        }
    }

    @Override
    public void removeUser(long user) {
        byte[] k = key(user);
        if (get(history, k) != null) {
            users.decrementAndGet();
            delete(history, k);
        }
        try {
            // [first, last) by range, then last itself: every item of this user and nobody else's
            db.deleteRange(seen, key(user, Long.MIN_VALUE), key(user, Long.MAX_VALUE));
            db.delete(seen, key(user, Long.MAX_VALUE));
        } catch (RocksDBException e) {
            throw new IllegalStateException("state store write failed: " + e.getMessage(), e);
        }
    }

    @Override
    public int users() {
        return users.get();
    }

    @Override
    public int pools() {
        return pools.get();
    }

    @Override
    public void close() {
        handles.forEach(ColumnFamilyHandle::close);
        db.close();
        cfOptions.close();
        options.close();
    }
}
