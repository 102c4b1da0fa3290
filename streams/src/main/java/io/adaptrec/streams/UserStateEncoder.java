package io.adaptrec.streams;

import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes a {@link UserHistory} as a {@code user-state} value straight from its primitive fields:
 * the same bytes as the topic's Avro serializer writes for {@link UserStateProcessor#toAvro} (the
 * Confluent wire format, the Avro binary encoding of {@code UserState} under its registered schema
 * id, readable by any Avro reader), without building the record: no boxed floats, no list of
 * history records. It was the stream thread's largest encoding cost (BENCHMARKS.md, Streams).
 *
 * <p>The schema id comes from the topic's own serializer, which registers (or looks up) the schema
 * on the first record of each topic; that serializer also writes every record when the serde
 * writes with the subject's latest schema ({@code use.latest.version}), where the bytes may differ.
 * {@code UserStateEncoderTest} checks byte equality with the Avro serializer.
 */
final class UserStateEncoder implements Serializer<UserHistory> {
    private final Serializer<UserState> avro;
    private final boolean direct;
    private final Map<String, Integer> ids = new ConcurrentHashMap<>();
    /** One buffer and encoder per stream thread (the sink's serializer is shared by the tasks). */
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);

    private static final class Buffers {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        BinaryEncoder encoder;
    }

    /**
     * @param avro   the topic's value serializer (registers the schema; the fallback)
     * @param direct false when that serializer converts to the subject's latest schema: then it writes everything
     */
    UserStateEncoder(Serializer<UserState> avro, boolean direct) {
        this.avro = avro;
        this.direct = direct;
    }

    @Override
    public byte[] serialize(String topic, UserHistory h) {
        if (h == null) {
            return null;
        }
        if (!direct) {
            return avro.serialize(topic, UserStateProcessor.toAvro(h));
        }
        Integer id = ids.get(topic);
        if (id == null) {
            // the first record of the topic goes through the Avro serializer: it registers the schema
            byte[] first = avro.serialize(topic, UserStateProcessor.toAvro(h));
            ids.put(topic, WireFormat.schemaId(first, "the user-state serializer's output for " + topic));
            return first;
        }
        if (h.embeddingVersion() == null) {
            throw new SerializationException("Invalid io.adaptrec.avro.UserState for topic " + topic
                    + ": embeddingVersion is null (user " + h.userId() + ")");
        }
        Buffers b = buffers.get();
        b.out.reset();
        b.out.write(WireFormat.MAGIC_BYTE);
        b.out.write(id >>> 24);
        b.out.write(id >>> 16);
        b.out.write(id >>> 8);
        b.out.write(id);
        BinaryEncoder e = EncoderFactory.get().binaryEncoder(b.out, b.encoder);
        b.encoder = e;
        try {
            // field order of UserState.avsc: userId, history, embedding, embeddingVersion, updatedAt
            e.writeLong(h.userId());
            List<UserHistory.Entry> entries = h.entries();
            e.writeArrayStart();
            e.setItemCount(entries.size());
            for (UserHistory.Entry x : entries) {
                e.startItem();
                e.writeLong(x.itemId());
                e.writeLong(x.eventTime());
                if (x.rating() == null) {   // ["null", "float"]
                    e.writeIndex(0);
                    e.writeNull();
                } else {
                    e.writeIndex(1);
                    e.writeFloat(x.rating());
                }
            }
            e.writeArrayEnd();
            float[] emb = h.embeddingUnsafe();
            e.writeArrayStart();
            e.setItemCount(emb.length);
            for (float f : emb) {
                e.startItem();
                e.writeFloat(f);
            }
            e.writeArrayEnd();
            e.writeString(h.embeddingVersion());
            e.writeLong(h.updatedAt());
            e.flush();
        } catch (IOException ex) {
            throw new SerializationException("Cannot encode the user-state of user " + h.userId(), ex);
        }
        return b.out.toByteArray();
    }
}
