package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.AvroDeserializer;
import io.adaptrec.schemas.AvroSerializer;
import io.adaptrec.schemas.WireFormat;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.junit.jupiter.api.Test;

/** The direct user-state encoder writes exactly what the Avro serializer writes, and any Avro reader reads it. */
class UserStateEncoderTest {
  private static UserHistory random(Random rnd, long user) {
    int n = rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(20);
    List<UserHistory.Entry> entries = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Float rating = rnd.nextBoolean() ? null : (float) (1 + rnd.nextInt(5)) - rnd.nextFloat();
      entries.add(new UserHistory.Entry(rnd.nextInt(100_000) - (rnd.nextInt(50) == 0 ? 1L << 40 : 0),
          1_700_000_000_000L + rnd.nextInt(1_000_000_000), rating));
    }
    float[] emb = new float[rnd.nextInt(3) == 0 ? 0 : 64];
    for (int i = 0; i < emb.length; i++) {
      emb[i] = (float) rnd.nextGaussian();
    }
    if (emb.length > 2) {
      emb[0] = -0.0f;
      emb[1] = Float.MIN_VALUE;
    }
    String version = rnd.nextBoolean() ? "text-64" : "reclm-ünïcode-" + rnd.nextInt(1000);
    return new UserHistory(user, entries, version, emb, 0, 1_700_000_000_000L + rnd.nextInt());
  }

  @Test
  void bytesEqualTheAvroSerializersAndDecodeWithAPlainAvroReader() throws Exception {
    String topic = TestRegistry.uniquePrefix() + "user-state";
    AvroSerializer<UserState> avro = new AvroSerializer<>(TestRegistry.serdeConfig(), false);
    UserStateEncoder direct = new UserStateEncoder(new AvroSerializer<>(TestRegistry.serdeConfig(), false), true);
    AvroDeserializer<UserState> reader = AvroDeserializer.forSpecific(UserState.class, TestRegistry.serdeConfig());
    Random rnd = new Random(7);
    for (int i = 0; i < 500; i++) {
      UserHistory h = random(rnd, rnd.nextInt(1 << 20) - (i % 17 == 0 ? 1L << 50 : 0));
      byte[] expected = avro.serialize(topic, UserStateProcessor.toAvro(h));
      byte[] got = direct.serialize(topic, h);
      assertThat(got).as("user %d", h.userId()).isEqualTo(expected);
      assertThat(reader.deserialize(topic, got)).isEqualTo(UserStateProcessor.toAvro(h));
    }
    // a generic reader with only the writer schema (no generated classes) reads it too
    UserHistory h = random(new Random(1), 42);
    byte[] bytes = direct.serialize(topic, h);
    GenericRecord g = new GenericDatumReader<GenericRecord>(UserState.getClassSchema()).read(null,
        DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
    assertThat(g.get("userId")).isEqualTo(42L);
    assertThat(((List<?>) g.get("embedding"))).hasSize(h.embedding().length);
    assertThat(direct.serialize(topic, null)).isNull();
  }

  @Test
  void withTheLatestSchemaTheAvroSerializerWritesEverything() {
    String topic = TestRegistry.uniquePrefix() + "user-state";
    AvroSerializer<UserState> avro = new AvroSerializer<>(TestRegistry.serdeConfig(), false);
    UserStateEncoder viaAvro = new UserStateEncoder(avro, false);
    UserHistory h = random(new Random(3), 5);
    assertThat(viaAvro.serialize(topic, h)).isEqualTo(avro.serialize(topic, UserStateProcessor.toAvro(h)));
  }
}
