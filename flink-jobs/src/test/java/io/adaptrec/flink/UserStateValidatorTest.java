package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.schemas.AvroSerdeConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Dead letters (undecodable and invalid records) go to the side output; missing embeddings are only counted. */
class UserStateValidatorTest {
  static final long T0 = 1_700_000_000_000L;
  static final byte[] KEY = {0, 0, 0, 0, 1, 2};
  static final byte[] VALUE = "{\"not\":\"avro\"}".getBytes(StandardCharsets.UTF_8);

  UserStateValidator validator = new UserStateValidator(3, 2);
  OneInputStreamOperatorTestHarness<UserUpdate, UserUpdate> harness;

  @BeforeEach
  void open() throws Exception {
    harness = ProcessFunctionTestHarnesses.forProcessFunction(validator);
  }

  @AfterEach
  void close() throws Exception {
    harness.close();
  }

  static UserUpdate.Origin origin(long offset) {
    return new UserUpdate.Origin("adaptrec.user-state", 4, offset, KEY, VALUE, null);
  }

  List<DeadLetterRecord> deadLetters() {
    List<DeadLetterRecord> out = new ArrayList<>();
    if (harness.getSideOutput(UserStateValidator.DEAD_LETTERS) != null) {
      harness.getSideOutput(UserStateValidator.DEAD_LETTERS).forEach(r -> out.add(r.getValue()));
    }
    return out;
  }

  @Test
  void undecodableRecordBecomesADeadLetterWithItsCoordinatesBytesAndReason() throws Exception {
    UserUpdate.Origin o = new UserUpdate.Origin("adaptrec.user-state", 4, 17, KEY, VALUE, "unknown magic byte 0x7b");
    harness.processElement(new StreamRecord<>(UserUpdate.undecodable(o, T0)));

    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(deadLetters()).singleElement().satisfies(d -> {
      assertThat(d.topic()).isEqualTo("adaptrec.user-state");
      assertThat(d.partition()).isEqualTo(4);
      assertThat(d.offset()).isEqualTo(17);
      assertThat(d.error()).isEqualTo("cannot deserialize record: unknown magic byte 0x7b");
      assertThat(d.source()).isEqualTo("flink/SimilarUserPoolsJob/validate-user-state");
      assertThat(d.rawKey()).isEqualTo(KEY);
      assertThat(d.rawValue()).isEqualTo(VALUE);
    });
    assertThat(validator.deadLetters.getCount()).isEqualTo(1);
  }

  @Test
  void invalidEmbeddingOfAnEligibleUserBecomesADeadLetterAndProcessingContinues() throws Exception {
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(7, new float[] {1, 0, 0}, "v1", 5, T0).withOrigin(origin(20))));
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(8, new float[] {0, 0}, "v1", 5, T0).withOrigin(origin(21))));
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(9, new float[] {Float.NaN, 1}, "v1", 5, T0)));
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(10, new float[] {1, 2}, "v1", 5, T0).withOrigin(origin(22))));

    assertThat(deadLetters()).extracting(DeadLetterRecord::offset, DeadLetterRecord::error).containsExactly(
        org.assertj.core.groups.Tuple.tuple(20L, "user 7 not pooled: embedding has 3 dimensions, embedding.dim is 2"),
        org.assertj.core.groups.Tuple.tuple(21L, "user 8 not pooled: embedding is all zeros or holds NaN/infinity"),
        org.assertj.core.groups.Tuple.tuple(-1L, "user 9 not pooled: embedding is all zeros or holds NaN/infinity"));
    assertThat(deadLetters().get(0).rawValue()).isEqualTo(VALUE);
    assertThat(validator.rejected.getCount()).isEqualTo(3);
    List<UserUpdate> out = harness.extractOutputValues();
    assertThat(out).extracting(UserUpdate::userId).containsExactly(10L);
    assertThat(out.get(0).origin()).as("raw bytes do not travel through the shuffles").isNull();
  }

  @Test
  void missingEmbeddingIsCountedButNeitherPassedOnNorDeadLettered() throws Exception {
    for (int i = 0; i < 50; i++) {
      harness.processElement(new StreamRecord<>(UserUpdate.upsert(i, new float[0], "v1", 5, T0).withOrigin(origin(i))));
    }
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(99, null, "v1", 4, T0)));

    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(deadLetters()).isEmpty();
    assertThat(validator.missing.getCount()).isEqualTo(51);
    assertThat(validator.deadLetters.getCount()).isZero();
  }

  @Test
  void ineligibleRecordsAndDeletesPassWhateverTheirEmbedding() throws Exception {
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(1, new float[0], "v1", 2, T0)));
    harness.processElement(new StreamRecord<>(UserUpdate.upsert(2, new float[] {0, 0, 0}, "v1", 1, T0)));
    harness.processElement(new StreamRecord<>(UserUpdate.delete(3, T0).withOrigin(origin(5))));

    assertThat(harness.extractOutputValues()).extracting(UserUpdate::userId).containsExactly(1L, 2L, 3L);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void aRecordTheRegistryCannotServeNowFailsTheTaskInsteadOfBeingDeadLettered() {
    // KEY carries a valid wire header (schema id 1): the decoder must ask the (unreachable) registry
    KafkaIo.UserStateDeserializer decoder = new KafkaIo.UserStateDeserializer(AvroSerdeConfig.of("http://127.0.0.1:9"));
    List<UserUpdate> out = new ArrayList<>();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> decoder.deserialize(
            new ConsumerRecord<>("adaptrec.user-state", 2, 33L, KEY, VALUE), collector(out)))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("registry is unavailable")
        .hasCauseInstanceOf(io.adaptrec.schemas.RegistryUnavailableException.class);
    assertThat(out).isEmpty();
  }

  private static Collector<UserUpdate> collector(List<UserUpdate> out) {
    return new Collector<>() {
      @Override
      public void collect(UserUpdate record) {
        out.add(record);
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void kafkaDecoderPassesCorruptBytesOnAsUndecodableWithTheirOffset() throws Exception {
    KafkaIo.UserStateDeserializer decoder = new KafkaIo.UserStateDeserializer(AvroSerdeConfig.of("http://127.0.0.1:9"));
    List<UserUpdate> out = new ArrayList<>();
    // no wire-format magic byte: undecodable whatever the registry says
    decoder.deserialize(new ConsumerRecord<>("adaptrec.user-state", 2, 33L, VALUE, VALUE), collector(out));

    assertThat(out).singleElement().satisfies(u -> {
      assertThat(u.isUndecodable()).isTrue();
      assertThat(u.origin().offset()).isEqualTo(33L);
      assertThat(u.origin().partition()).isEqualTo(2);
      assertThat(u.origin().rawValue()).isEqualTo(VALUE);
      assertThat(u.origin().error()).isNotBlank();
    });
  }

  @Test
  void logLimiterLogsTheFirstFewThenOncePerInterval() {
    LogLimiter limiter = new LogLimiter(3, 60_000);
    List<Long> logged = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      logged.add(limiter.tryAcquire(1_000L + i * 1_000L)); // one per second for 100 s
    }
    assertThat(logged.subList(0, 3)).containsOnly(0L);
    assertThat(logged.stream().filter(s -> s >= 0).count()).isEqualTo(4); // first 3, then one a minute after the 3rd
    assertThat(logged.get(62)).isEqualTo(59L);
    assertThat(limiter.seen()).isEqualTo(100);
  }
}
