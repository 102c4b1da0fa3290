package io.adaptrec.streams.outcome;

import io.adaptrec.schemas.LatencyHistogram;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;

/**
 * Binary layouts of the outcome application's own values: store values, their changelogs and the
 * arm-delta repartition topic. Like the user-state {@code Codecs} they never leave the application,
 * so a small fixed layout (with a leading format byte) is used instead of Avro and the registry.
 *
 * <p>Store keys are built so that RocksDB's byte order is time order: a big-endian non-negative
 * time first, then the rest. Range scans "everything due by t" and "every window older than t" are
 * then one iterator each.
 */
final class OutcomeCodecs {
    private static final byte FORMAT_V1 = 1;

    private OutcomeCodecs() {}

    // ---- keys ----

    /** Deadline-index key: (dueAt, userId), 16 bytes big-endian. */
    static Bytes dueKey(long dueAt, long userId) {
        return Bytes.wrap(ByteBuffer.allocate(16).putLong(dueAt).putLong(userId).array());
    }

    /** The greatest index key due at {@code t}: all 0xFF after the time sorts after every user id. */
    static Bytes lastDueKey(long t) {
        return dueKey(t, -1L);
    }

    static long dueAt(Bytes key) {
        return ByteBuffer.wrap(key.get()).getLong(0);
    }

    static long dueUser(Bytes key) {
        return ByteBuffer.wrap(key.get()).getLong(8);
    }

    /** Metrics-store key: (windowStart, arm key). */
    static Bytes windowKey(long windowStart, String armKey) {
        byte[] arm = armKey.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(ByteBuffer.allocate(8 + arm.length).putLong(windowStart).put(arm).array());
    }

    /** Sorts before every window key with a start of {@code windowStart} or later. */
    static Bytes firstWindowKey(long windowStart) {
        return Bytes.wrap(ByteBuffer.allocate(8).putLong(windowStart).array());
    }

    // ---- values ----

    static Serde<Pending> pendingSerde() {
        return serde(OutcomeCodecs::writePending, OutcomeCodecs::readPending, "pending response");
    }

    static Serde<Delta> deltaSerde() {
        return serde(OutcomeCodecs::writeDelta, OutcomeCodecs::readDelta, "arm delta");
    }

    static Serde<ArmWindow> windowSerde() {
        return serde(OutcomeCodecs::writeWindow, OutcomeCodecs::readWindow, "arm window");
    }

    private static void writeArm(DataOutputStream o, Delta.Arm a) throws IOException {
        o.writeUTF(a.experimentId());
        o.writeUTF(a.arm());
        o.writeUTF(a.adapterVersion());
        o.writeLong(a.windowStart());
    }

    private static Delta.Arm readArm(DataInputStream in) throws IOException {
        return new Delta.Arm(in.readUTF(), in.readUTF(), in.readUTF(), in.readLong());
    }

    private static void writePending(DataOutputStream o, Pending p) throws IOException {
        writeArm(o, p.arm());
        o.writeBoolean(p.expired());
        o.writeLong(p.dueAt());
        o.writeInt(p.items().length);
        for (long item : p.items()) o.writeLong(item);
    }

    private static Pending readPending(DataInputStream in) throws IOException {
        Delta.Arm arm = readArm(in);
        boolean expired = in.readBoolean();
        long dueAt = in.readLong();
        int n = in.readInt();
        if (n < 0 || n > in.available() / 8) throw new SerializationException("bad ranking length " + n);
        long[] items = new long[n];
        for (int i = 0; i < n; i++) items[i] = in.readLong();
        return new Pending(arm, items, expired, dueAt);
    }

    private static void writeDelta(DataOutputStream o, Delta d) throws IOException {
        writeArm(o, d.arm());
        o.writeInt(d.served());
        o.writeInt(d.errors());
        o.writeInt(d.outcomes());
        o.writeInt(d.hitsAt1());
        o.writeInt(d.hitsAt5());
        o.writeDouble(d.ndcg());
        o.writeLong(d.latencyMicros());
        o.writeInt(d.late());
        o.writeInt(d.missing());
    }

    private static Delta readDelta(DataInputStream in) throws IOException {
        return new Delta(readArm(in), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                in.readDouble(), in.readLong(), in.readInt(), in.readInt());
    }

    private static void writeWindow(DataOutputStream o, ArmWindow w) throws IOException {
        o.writeUTF(w.experimentId);
        o.writeUTF(w.arm);
        o.writeUTF(w.adapterVersion);
        o.writeLong(w.windowStart);
        o.writeLong(w.windowEnd);
        for (long v : new long[] {w.served, w.errors, w.outcomes, w.hitsAt1, w.hitsAt5}) o.writeLong(v);
        o.writeDouble(w.ndcgSum);
        o.writeLong(w.latencyMicrosSum);
        o.writeLong(w.lateOutcomes);
        o.writeLong(w.missingOutcomes);
        List<Long> bounds = w.latency.boundsList();
        List<Long> counts = w.latency.countsList();
        o.writeInt(bounds.size());
        for (long b : bounds) o.writeLong(b);
        for (long c : counts) o.writeLong(c);
    }

    private static ArmWindow readWindow(DataInputStream in) throws IOException {
        String experiment = in.readUTF();
        String arm = in.readUTF();
        String adapter = in.readUTF();
        long start = in.readLong();
        long end = in.readLong();
        long[] c = new long[5];
        for (int i = 0; i < c.length; i++) c[i] = in.readLong();
        double ndcg = in.readDouble();
        long latencySum = in.readLong();
        long late = in.readLong();
        long missing = in.readLong();
        int n = in.readInt();
        if (n < 0 || n > in.available() / 8) throw new SerializationException("bad histogram size " + n);
        List<Long> bounds = new ArrayList<>(n);
        for (int i = 0; i < n; i++) bounds.add(in.readLong());
        List<Long> counts = new ArrayList<>(n + 1);
        for (int i = 0; i <= n; i++) counts.add(in.readLong());
        // the bounds are stored with the counts, so a window written before a change of
        // LatencyHistogram.BOUNDS_MICROS still reads as what it counted
        ArmWindow w = new ArmWindow(experiment, arm, adapter, start, end, LatencyHistogram.of(bounds, counts));
        w.served = c[0];
        w.errors = c[1];
        w.outcomes = c[2];
        w.hitsAt1 = c[3];
        w.hitsAt5 = c[4];
        w.ndcgSum = ndcg;
        w.latencyMicrosSum = latencySum;
        w.lateOutcomes = late;
        w.missingOutcomes = missing;
        return w;
    }

    // ---- plumbing ----

    private interface Writer<T> {
        void write(DataOutputStream out, T value) throws IOException;
    }

    private interface Reader<T> {
        T read(DataInputStream in) throws IOException;
    }

    private static <T> Serde<T> serde(Writer<T> writer, Reader<T> reader, String what) {
        return Serdes.serdeFrom((topic, value) -> {
            if (value == null) return null;
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeByte(FORMAT_V1);
                writer.write(out, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a byte array does not fail
            }
            return bytes.toByteArray();
        }, (topic, data) -> {
            if (data == null) return null;
            if (data.length == 0 || data[0] != FORMAT_V1) {
                throw new SerializationException("unknown " + what + " format "
                        + (data.length == 0 ? "(empty)" : Byte.toString(data[0])));
            }
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data, 1, data.length - 1))) {
                return reader.read(in);
            } catch (IOException e) {
                throw new SerializationException("truncated " + what, e);
            }
        });
    }
}
