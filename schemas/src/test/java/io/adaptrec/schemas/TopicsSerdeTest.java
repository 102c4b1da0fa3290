package io.adaptrec.schemas;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every topic's key and value survive the Confluent wire format through the embedded registry. */
class TopicsSerdeTest {
  private static final Topics TOPICS = TestRegistry.freshTopics();

  static Stream<Arguments> records() {
    return Stream.of(
        Arguments.of(TOPICS.items(), 7L, Fixtures.item(7, "Toy Story (1995)", "Animation", "Comedy")),
        Arguments.of(TOPICS.interactions(), 1L, Fixtures.rating(1, 7, T0, 4.5f)),
        Arguments.of(TOPICS.itemEmbeddings(), 7L, Fixtures.itemEmbedding(7, "text-v1", 0.6f, -0.8f)),
        Arguments.of(TOPICS.userState(), 1L, Fixtures.userState(1, List.of(7L, 8L, 9L), 0.1f, 0.2f)),
        Arguments.of(TOPICS.userPools(), 1L, Fixtures.pool(1, 2, 3, 4)),
        Arguments.of(TOPICS.recRequests(), 1L, Fixtures.request("r1", 1, 5, 7, 8, 9)),
        Arguments.of(TOPICS.recResponses(), 1L, Fixtures.response("r1", 1, 9, 7, 8)),
        Arguments.of(TOPICS.adapters(), "lora-1", Fixtures.adapter("lora-1", new byte[] {1, 2, 3})),
        Arguments.of(TOPICS.rollouts(), "exp-1", Fixtures.rollout("exp-1", "base", "lora-1", 10)),
        Arguments.of(TOPICS.experimentMetrics(), Topics.armKey("exp-1", "control"),
            Fixtures.armMetrics("exp-1", "control", 100, 40)),
        Arguments.of(TOPICS.deadLetter(), TOPICS.interactions().name(),
            Fixtures.deadLetter(TOPICS.interactions().name(), 42, "unknown magic byte 0x7b", Fixtures.utf8("{}"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("records")
  @SuppressWarnings({"unchecked", "rawtypes"})
  void keyAndValueRoundTripInWireFormat(Topic topic, Object key, Object value) {
    byte[] keyBytes = topic.keySerde().serializer().serialize(topic.name(), key);
    byte[] valueBytes = topic.valueSerde().serializer().serialize(topic.name(), value);

    assertThat(topic.keySerde().deserializer().deserialize(topic.name(), keyBytes)).isEqualTo(key);
    assertThat(topic.valueSerde().deserializer().deserialize(topic.name(), valueBytes)).isEqualTo(value);

    RegistryClient registry = TOPICS.registry();
    RegistryClient.SchemaVersion keySchema = registry.latest(topic.keySubject());
    RegistryClient.SchemaVersion valueSchema = registry.latest(topic.valueSubject());
    assertThat(keyBytes[0]).as("magic byte").isZero();
    assertThat(ByteBuffer.wrap(keyBytes, 1, 4).getInt()).isEqualTo(keySchema.id());
    assertThat(valueBytes[0]).as("magic byte").isZero();
    assertThat(WireFormat.schemaId(valueBytes, "test")).isEqualTo(valueSchema.id());
    assertThat(keySchema.schema().getType()).isEqualTo(key instanceof Long ? Schema.Type.LONG : Schema.Type.STRING);
    assertThat(valueSchema.schema().getFullName()).isEqualTo(((org.apache.avro.specific.SpecificRecord) value)
        .getSchema().getFullName());
  }

  @Test
  void longKeyIsPlainAvroLongAfterTheHeader() {
    byte[] bytes = TOPICS.interactions().keySerde().serializer().serialize(TOPICS.interactions().name(), 1L);
    // Avro longs are zig-zag varints: 1 -> 0x02
    assertThat(bytes).hasSize(6);
    assertThat(bytes[5]).isEqualTo((byte) 0x02);
  }

  @Test
  void nullIsATombstoneBothWays() {
    Topic<Long, UserState> t = TOPICS.userState();
    assertThat(t.valueSerde().serializer().serialize(t.name(), null)).isNull();
    assertThat(t.valueSerde().deserializer().deserialize(t.name(), null)).isNull();
  }

  @Test
  void declarationsMatchTheArchitecture() {
    assertThat(TOPICS.all()).hasSize(12);
    assertThat(TOPICS.all()).allSatisfy(t -> assertThat(t.name()).startsWith(TOPICS.prefix()));
    assertThat(TOPICS.all().stream().filter(Topic::compacted).map(t -> t.name().substring(TOPICS.prefix().length() - "adaptrec.".length())))
        .containsExactlyInAnyOrder("adaptrec.items", "adaptrec.item-embeddings", "adaptrec.user-state",
            "adaptrec.user-pools", "adaptrec.adapters", "adaptrec.rollouts");
    assertThat(new Topics(AvroSerdeConfig.of("http://127.0.0.1:1")).interactions().name())
        .isEqualTo("adaptrec.interactions");
    assertThatThrownBy(() -> new Topics("bad prefix!", TestRegistry.serdeConfig()))
        .hasMessageContaining("bad prefix!");
  }

  @Test
  void missingRequiredFieldIsASerializationErrorNamingTheTopic() {
    Interaction broken = Fixtures.interaction(1, 2, T0);
    broken.setKind(null);
    assertThatThrownBy(() -> TOPICS.interactions().valueSerde().serializer()
        .serialize(TOPICS.interactions().name(), broken))
        .isInstanceOf(org.apache.kafka.common.errors.SerializationException.class)
        .hasMessageContaining("io.adaptrec.avro.Interaction")
        .hasMessageContaining(TOPICS.interactions().name());
  }
}
