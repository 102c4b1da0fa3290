package io.adaptrec.streams;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Binary layouts of this application's own state-store values. These never leave the application
 * (stores and their changelogs only), so they use a fixed little layout rather than Avro and the
 * registry: the user store is read and written once per interaction and a registry round trip or
 * a schema-resolving decoder per value would be the largest cost on that path. Every layout
 * starts with a format byte so a future layout can be read side by side with this one.
 */
final class Codecs {
    private static final byte FORMAT_V1 = 1;
    private static final float NO_RATING = Float.NaN;

    private Codecs() {}

    // ---- float vectors (text store values) ----

    static byte[] encodeVector(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 4 * v.length);
        b.put(FORMAT_V1);
        putFloats(b, v);
        return b.array();
    }

    static float[] decodeVector(byte[] bytes) {
        ByteBuffer b = open(bytes, "item text vector");
        return getFloats(b);
    }

    // ---- model vectors: current and previous published version of one item ----

    /** An item's model vectors; {@code previousVersion} is null until the item was republished. */
    record ModelVectors(String currentVersion, float[] current, String previousVersion, float[] previous) {
        float[] in(String version) {
            if (version.equals(currentVersion)) return current;
            if (version.equals(previousVersion)) return previous;
            return null;
        }
    }

    static byte[] encodeModel(ModelVectors m) {
        byte[] cv = m.currentVersion().getBytes(StandardCharsets.UTF_8);
        byte[] pv = m.previousVersion() == null ? null : m.previousVersion().getBytes(StandardCharsets.UTF_8);
        int size = 1 + 4 + cv.length + 4 + 4 * m.current().length + 1
                + (pv == null ? 0 : 4 + pv.length + 4 + 4 * m.previous().length);
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(FORMAT_V1);
        putBytes(b, cv);
        putFloats(b, m.current());
        b.put((byte) (pv == null ? 0 : 1));
        if (pv != null) {
            putBytes(b, pv);
            putFloats(b, m.previous());
        }
        return b.array();
    }

    static ModelVectors decodeModel(byte[] bytes) {
        ByteBuffer b = open(bytes, "item model vectors");
        try {
            String cv = getString(b);
            float[] c = getFloats(b);
            if (b.get() == 0) return new ModelVectors(cv, c, null, null);
            return new ModelVectors(cv, c, getString(b), getFloats(b));
        } catch (BufferUnderflowException e) {
            throw new SerializationException("truncated item model vectors", e);
        }
    }

    // ---- version statistics (meta entry of the model store) ----

    static byte[] encodeStats(VersionStats s) {
        List<byte[]> parts = new ArrayList<>();
        int size = 1 + 8;
        byte[] newest = s.newestVersion() == null ? new byte[0] : s.newestVersion().getBytes(StandardCharsets.UTF_8);
        byte[] active = s.activeModelVersion() == null ? new byte[0] : s.activeModelVersion().getBytes(StandardCharsets.UTF_8);
        size += 4 + newest.length + 4 + active.length + 4;
        for (Map.Entry<String, Long> e : s.counts().entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            parts.add(k);
            size += 4 + k.length + 8;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(FORMAT_V1);
        b.putLong(s.newestTimestamp());
        putBytes(b, newest);
        putBytes(b, active);
        b.putInt(parts.size());
        int i = 0;
        for (Map.Entry<String, Long> e : s.counts().entrySet()) {
            putBytes(b, parts.get(i++));
            b.putLong(e.getValue());
        }
        return b.array();
    }

    static VersionStats decodeStats(byte[] bytes) {
        ByteBuffer b = open(bytes, "embedding version statistics");
        long ts = b.getLong();
        String newest = getString(b);
        String active = getString(b);
        int n = b.getInt();
        Map<String, Long> counts = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) counts.put(getString(b), b.getLong());
        return new VersionStats(newest.isEmpty() ? null : newest, ts, active.isEmpty() ? null : active, counts);
    }

    // ---- user history (user store values) ----

    static byte[] encodeHistory(UserHistory h) {
        byte[] version = h.embeddingVersion() == null ? new byte[0] : h.embeddingVersion().getBytes(StandardCharsets.UTF_8);
        float[] emb = h.embeddingUnsafe();
        List<UserHistory.Entry> entries = h.entries();
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 8 + 4 + 20 * entries.size() + 4 + version.length + 4 + 4 * emb.length + 4);
        b.put(FORMAT_V1);
        b.putLong(h.userId());
        b.putLong(h.updatedAt());
        b.putInt(entries.size());
        for (UserHistory.Entry e : entries) {
            b.putLong(e.itemId());
            b.putLong(e.eventTime());
            b.putFloat(e.rating() == null ? NO_RATING : e.rating());
        }
        putBytes(b, version);
        putFloats(b, emb);
        b.putInt(h.missing());
        return b.array();
    }

    static UserHistory decodeHistory(byte[] bytes) {
        ByteBuffer b = open(bytes, "user history");
        try {
            long user = b.getLong();
            long updatedAt = b.getLong();
            int n = b.getInt();
            List<UserHistory.Entry> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long item = b.getLong();
                long time = b.getLong();
                float r = b.getFloat();
                entries.add(new UserHistory.Entry(item, time, Float.isNaN(r) ? null : r));
            }
            String version = getString(b);
            float[] emb = getFloats(b);
            int missing = b.getInt();
            return new UserHistory(user, entries, version.isEmpty() ? null : version, emb, missing, updatedAt);
        } catch (BufferUnderflowException e) {
            throw new SerializationException("truncated user history", e);
        }
    }

    static Serde<UserHistory> historySerde() {
        Serializer<UserHistory> ser = (topic, h) -> h == null ? null : encodeHistory(h);
        Deserializer<UserHistory> de = (topic, bytes) -> bytes == null ? null : decodeHistory(bytes);
        return Serdes.serdeFrom(ser, de);
    }

    // ---- helpers ----

    private static ByteBuffer open(byte[] bytes, String what) {
        if (bytes == null || bytes.length == 0 || bytes[0] != FORMAT_V1) {
            throw new SerializationException("unknown " + what + " format "
                    + (bytes == null || bytes.length == 0 ? "(empty)" : Byte.toString(bytes[0])));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        b.get();
        return b;
    }

    private static void putFloats(ByteBuffer b, float[] v) {
        b.putInt(v.length);
        for (float f : v) b.putFloat(f);
    }

    private static float[] getFloats(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining() / 4) throw new SerializationException("bad vector length " + n);
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        b.position(b.position() + 4 * n);
        return v;
    }

    private static void putBytes(ByteBuffer b, byte[] bytes) {
        b.putInt(bytes.length);
        b.put(bytes);
    }

    private static String getString(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) throw new SerializationException("bad string length " + n);
        String s = new String(b.array(), b.arrayOffset() + b.position(), n, StandardCharsets.UTF_8);
        b.position(b.position() + n);
        return s;
    }
}
