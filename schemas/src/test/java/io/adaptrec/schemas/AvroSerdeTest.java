package io.adaptrec.schemas;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** Serde behaviour beyond the happy path: configuration, evolution, failures, Flink's Java serialization. */
class AvroSerdeTest {

  /** Interaction as it was before 'rating' existed: bytes of this writer must still be readable. */
  static final Schema INTERACTION_V0 = SchemaBuilder.record("Interaction").namespace("io.adaptrec.avro").fields()
      .requiredLong("userId").requiredLong("itemId")
      .name("eventTime").type(org.apache.avro.LogicalTypes.timestampMillis()
          .addToSchema(Schema.create(Schema.Type.LONG))).noDefault()
      .name("kind").type(Interaction.getClassSchema().getField("kind").schema()).noDefault()
      .endRecord();

  @Test
  void configuredByClassNameLikeConfluentsSerde() {
    Map<String, Object> props = new HashMap<>(Map.of(
        "schema.registry.url", TestRegistry.url(),
        "auto.register.schemas", "true",
        "bootstrap.servers", "ignored:9092"));
    AvroSerializer<Object> ser = new AvroSerializer<>();
    ser.configure(props, false);
    AvroDeserializer<Object> de = new AvroDeserializer<>();
    de.configure(props, false);
    String topic = TestRegistry.uniquePrefix() + "items";
    Item item = Fixtures.item(1, "Heat (1995)", "Action", "Crime");

    Object back = de.deserialize(topic, ser.serialize(topic, item));
    assertThat(back).as("specific.avro.reader defaults to true here").isInstanceOf(Item.class).isEqualTo(item);

    props.put("specific.avro.reader", false);
    AvroDeserializer<GenericRecord> generic = new AvroDeserializer<>();
    generic.configure(props, false);
    GenericRecord g = generic.deserialize(topic, ser.serialize(topic, item));
    assertThat(g.get("title").toString()).isEqualTo("Heat (1995)");
    assertThat(g.get("updatedAt")).isEqualTo(T0.toEpochMilli());
  }

  @Test
  void oldWriterBytesAreReadWithTheNewerGeneratedClass() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    GenericRecord old = new GenericData.Record(INTERACTION_V0);
    old.put("userId", 1L);
    old.put("itemId", 2L);
    old.put("eventTime", T0.toEpochMilli());
    old.put("kind", new GenericData.EnumSymbol(INTERACTION_V0.getField("kind").schema(), "CLICK"));
    byte[] bytes = new AvroSerializer<GenericRecord>(TestRegistry.serdeConfig(), false).serialize(topic, old);

    // the current class adds 'rating' with default null: BACKWARD compatible, so registration succeeds too
    Interaction current = new Interaction(1L, 3L, T0, InteractionKind.VIEW, 5f);
    byte[] newBytes = new AvroSerializer<Interaction>(TestRegistry.serdeConfig(), false).serialize(topic, current);
    assertThat(WireFormat.schemaId(newBytes, "t")).isNotEqualTo(WireFormat.schemaId(bytes, "t"));

    Interaction read = AvroDeserializer.forSpecific(Interaction.class, TestRegistry.serdeConfig())
        .deserialize(topic, bytes);
    assertThat(read).isEqualTo(new Interaction(1L, 2L, T0, InteractionKind.CLICK, null));
  }

  @Test
  void incompatibleWriterIsRejectedByTheRegistryWithItsReason() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    AvroSerializer<Object> ser = new AvroSerializer<>(TestRegistry.serdeConfig(), false);
    ser.serialize(topic, Fixtures.interaction(1, 2, T0));
    Schema withRequiredField = SchemaBuilder.record("Interaction").namespace("io.adaptrec.avro").fields()
        .requiredLong("userId").requiredLong("itemId").requiredString("sessionId").endRecord();
    GenericRecord r = new GenericData.Record(withRequiredField);
    r.put("userId", 1L);
    r.put("itemId", 2L);
    r.put("sessionId", "s");

    assertThatThrownBy(() -> ser.serialize(topic, r))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining(topic + "-value")
        .hasMessageContaining("409")
        .hasMessageContaining("sessionId");
  }

  @Test
  void badBytesFailWithMessagesNamingTheProblem() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    AvroDeserializer<Interaction> de = AvroDeserializer.forSpecific(Interaction.class, TestRegistry.serdeConfig());

    assertThatThrownBy(() -> de.deserialize(topic, "{\"json\":1}".getBytes()))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("Unknown magic byte 0x7b").hasMessageContaining(topic);
    assertThatThrownBy(() -> de.deserialize(topic, new byte[] {0, 0, 1}))
        .isInstanceOf(SerializationException.class).hasMessageContaining("3 bytes");
    assertThatThrownBy(() -> de.deserialize(topic, new byte[] {0, 0x7f, 0, 0, 1, 2}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("unknown schema id " + 0x7f000001).hasMessageContaining(TestRegistry.url());

    byte[] good = new AvroSerializer<Interaction>(TestRegistry.serdeConfig(), false)
        .serialize(topic, Fixtures.interaction(1, 2, T0));
    byte[] truncated = java.util.Arrays.copyOf(good, 7);
    assertThatThrownBy(() -> de.deserialize(topic, truncated))
        .isInstanceOf(SerializationException.class).hasMessageContaining("Corrupt Avro payload");

    // an Item's bytes read as Interaction: the schemas do not resolve, said up front
    String items = TestRegistry.uniquePrefix() + "items";
    byte[] itemBytes = new AvroSerializer<Item>(TestRegistry.serdeConfig(), false)
        .serialize(items, Fixtures.item(1, "x"));
    assertThatThrownBy(() -> de.deserialize(items, itemBytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("cannot be read as io.adaptrec.avro.Interaction");
  }

  @Test
  void unreachableRegistryIsReportedWithItsUrl() {
    AvroSerdeConfig dead = AvroSerdeConfig.of("http://127.0.0.1:1");
    assertThatThrownBy(() -> new AvroSerializer<Long>(dead, true).serialize("t", 1L))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessageContaining("unreachable").hasMessageContaining("http://127.0.0.1:1").hasMessageContaining("retry later");
    // a record that may decode later is told apart from a bad one (roles retry it rather than dead-letter it)
    assertThatThrownBy(() -> AvroDeserializer.forSpecific(Item.class, dead).deserialize("t", new byte[] {0, 0, 0, 0, 1, 2}))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessageContaining("unreachable").hasMessageContaining("http://127.0.0.1:1").hasMessageContaining("retry later");
    assertThatThrownBy(() -> AvroDeserializer.forSpecific(Item.class, TestRegistry.serdeConfig())
        .deserialize("t", new byte[] {0, 0x7f, 0, 0, 1, 2}))
        .isInstanceOf(SerializationException.class).isNotInstanceOf(RegistryUnavailableException.class);
  }

  @Test
  void withoutAutoRegisterOnlyRegisteredSchemasAreWritten() {
    String topic = TestRegistry.uniquePrefix() + "items";
    AvroSerdeConfig noRegister = TestRegistry.serdeConfig().withAutoRegister(false, false);
    Item item = Fixtures.item(1, "Up");
    assertThatThrownBy(() -> new AvroSerializer<Item>(noRegister, false).serialize(topic, item))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("not registered under subject " + topic + "-value")
        .hasMessageContaining("auto.register.schemas=false");

    int id = new RegistryClient(TestRegistry.serdeConfig()).register(topic + "-value", Item.getClassSchema());
    assertThat(WireFormat.schemaId(new AvroSerializer<Item>(noRegister, false).serialize(topic, item), "t"))
        .isEqualTo(id);
  }

  @Test
  void useLatestVersionWritesTheSubjectsLatestSchema() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    RegistryClient admin = new RegistryClient(TestRegistry.serdeConfig());
    admin.register(topic + "-value", INTERACTION_V0);
    int latestId = admin.register(topic + "-value", Interaction.getClassSchema());
    // a producer on the old schema, pinned to the subject's latest: it writes latest-schema bytes
    AvroSerdeConfig pinned = TestRegistry.serdeConfig().withAutoRegister(false, true);
    GenericRecord old = new GenericData.Record(INTERACTION_V0);
    old.put("userId", 4L);
    old.put("itemId", 5L);
    old.put("eventTime", T0.toEpochMilli());
    old.put("kind", new GenericData.EnumSymbol(INTERACTION_V0.getField("kind").schema(), "PURCHASE"));
    byte[] bytes = new AvroSerializer<GenericRecord>(pinned, false).serialize(topic, old);

    assertThat(WireFormat.schemaId(bytes, "t")).isEqualTo(latestId);
    assertThat(AvroDeserializer.forSpecific(Interaction.class, TestRegistry.serdeConfig()).deserialize(topic, bytes))
        .isEqualTo(new Interaction(4L, 5L, T0, InteractionKind.PURCHASE, null));
  }

  @Test
  void survivesJavaSerializationAsFlinkShipsIt() throws Exception {
    String topic = TestRegistry.uniquePrefix() + "items";
    AvroSerializer<Item> ser = roundTrip(new AvroSerializer<>(TestRegistry.serdeConfig(), false));
    AvroDeserializer<Item> de = roundTrip(AvroDeserializer.forSpecific(Item.class, TestRegistry.serdeConfig()));
    AvroDeserializer<String> keys = roundTrip(AvroDeserializer.forSchema(Schema.create(Schema.Type.STRING),
        TestRegistry.serdeConfig()));
    Item item = Fixtures.item(2, "Fargo (1996)", "Crime");
    assertThat(de.deserialize(topic, ser.serialize(topic, item))).isEqualTo(item);
    byte[] key = new AvroSerializer<String>(TestRegistry.serdeConfig(), true).serialize(topic, "exp-1/control");
    assertThat(keys.deserialize(topic, key)).isEqualTo("exp-1/control").isInstanceOf(String.class);
  }

  @Test
  void configIsValidatedWithTheKeyNamed() {
    assertThatThrownBy(() -> AvroSerdeConfig.fromMap(Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("schema.registry.url");
    assertThatThrownBy(() -> AvroSerdeConfig.fromMap(Map.of("schema.registry.url", "localhost:8081")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("http(s)://host:port");
    assertThatThrownBy(() -> AvroSerdeConfig.fromMap(Map.of("schema.registry.url", "http://a:1",
        "auto.register.schemas", "yes")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("auto.register.schemas");
    assertThatThrownBy(() -> AvroSerdeConfig.fromMap(Map.of("schema.registry.url", "http://a:1",
        "use.latest.version", "true")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("auto.register.schemas=false");
    assertThatThrownBy(() -> AvroSerdeConfig.fromMap(Map.of("schema.registry.url", "http://a:1",
        "basic.auth.credentials.source", "SASL_INHERIT")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("USER_INFO or URL");

    AvroSerdeConfig c = AvroSerdeConfig.fromMap(Map.of("schema.registry.url", "http://u:p@a:1, http://b:2",
        "basic.auth.credentials.source", "URL"));
    assertThat(c.registryUrls()).containsExactly("http://u:p@a:1", "http://b:2");
    assertThat(c.basicAuthUserInfo()).isEqualTo("u:p");
    assertThat(c.toString()).doesNotContain(":p@").contains("u:***");
    assertThat(AvroSerdeConfig.fromMap(c.toMap())).isEqualTo(c.withBasicAuth("u:p"));
  }

  @Test
  void basicAuthFromClientConfigReachesASecuredRegistry() {
    try (EmbeddedSchemaRegistry secured = EmbeddedSchemaRegistry.start(0, "bob:pw")) {
      Map<String, Object> props = Map.of("schema.registry.url", secured.url(),
          "basic.auth.credentials.source", "USER_INFO", "basic.auth.user.info", "bob:pw");
      AvroSerializer<Long> ser = new AvroSerializer<>();
      ser.configure(props, true);
      AvroDeserializer<Long> de = new AvroDeserializer<>();
      de.configure(props, true);
      assertThat(de.deserialize("users", ser.serialize("users", 42L))).isEqualTo(42L);
      assertThat(new RegistryClient(AvroSerdeConfig.fromMap(props)).subjects()).containsExactly("users-key");
    }
  }

  @Test
  void failsOverToTheNextRegistryUrl() {
    AvroSerdeConfig twoUrls = new AvroSerdeConfig(List.of("http://127.0.0.1:1", TestRegistry.url()),
        true, false, true, null, -1, 5_000);
    String topic = TestRegistry.uniquePrefix() + "k";
    assertThat(new AvroDeserializer<Long>() {
      {
        configure(twoUrls.toMap(), true);
      }
    }.deserialize(topic, new AvroSerializer<Long>(twoUrls, true).serialize(topic, 9L))).isEqualTo(9L);
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(T object) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(object);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (T) in.readObject();
    }
  }
}
