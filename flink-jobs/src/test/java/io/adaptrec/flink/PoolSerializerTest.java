package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.schemas.AvroDeserializer;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * The user-pools record as written to Kafka: what {@link PoolEmitter} emits for one user (changes,
 * a suppressed repeat, a tombstone, a new embedding version) goes through {@link KafkaIo.PoolSerializer}
 * and the value's {@code poolVersion} equals the {@link KafkaIo#HEADER_POOL_VERSION} header,
 * which runs 1, 2, 3 ... without gaps (the tombstone takes its number in the header only).
 */
class PoolSerializerTest {
  static final long U = 42;
  static final long T0 = 1_700_000_000_000L;

  @Test
  void poolVersionFieldEqualsTheHeaderAndIsGapFree() throws Exception {
    List<PoolUpdate> emitted;
    try (var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PoolEmitter(1e-4f, 0), PoolChange::userId, Types.LONG)) {
      h.setProcessingTime(T0);
      h.processElement(new StreamRecord<>(new PoolChange(U, 1, "v1", new long[] {1, 2}, new float[] {0.9f, 0.8f}, false, T0)));
      h.processElement(new StreamRecord<>(new PoolChange(U, 1, "v1", new long[] {1, 2}, new float[] {0.9f, 0.8f}, false, T0))); // unchanged
      h.processElement(new StreamRecord<>(new PoolChange(U, 2, "v1", new long[] {2, 1}, new float[] {0.95f, 0.9f}, false, T0)));
      h.processElement(new StreamRecord<>(new PoolChange(U, 3, "", new long[0], new float[0], true, T0)));
      h.processElement(new StreamRecord<>(new PoolChange(U, 4, "v2", new long[] {3}, new float[] {0.7f}, false, T0)));
      h.processElement(new StreamRecord<>(new PoolChange(U, 5, "v2", new long[] {3, 1}, new float[] {0.7f, 0.2f}, false, T0)));
      emitted = h.extractOutputValues();
    }
    var serializer = new KafkaIo.PoolSerializer("user-pools", TestRegistry.serdeConfig());
    AvroDeserializer<SimilarUserPool> values = AvroDeserializer.forSpecific(SimilarUserPool.class, TestRegistry.serdeConfig());

    List<Long> headers = new ArrayList<>();
    List<Long> fields = new ArrayList<>();
    List<String> embeddingVersions = new ArrayList<>();
    for (PoolUpdate p : emitted) {
      ProducerRecord<byte[], byte[]> r = serializer.serialize(p, null, null);
      long header = ByteBuffer.wrap(r.headers().lastHeader(KafkaIo.HEADER_POOL_VERSION).value()).getLong();
      headers.add(header);
      if (r.value() == null) {
        assertThat(p.deleted()).isTrue();
        continue;
      }
      SimilarUserPool pool = values.deserialize("user-pools", r.value());
      assertThat(pool.getPoolVersion()).as("poolVersion of the record with header %d", header).isEqualTo(header);
      fields.add(pool.getPoolVersion());
      embeddingVersions.add(pool.getVersion());
    }
    assertThat(headers).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(fields).containsExactly(1L, 2L, 4L, 5L);
    assertThat(embeddingVersions).containsExactly("v1", "v1", "v2", "v2");
  }
}
