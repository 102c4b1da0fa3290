package io.adaptrec.schemas;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Interaction;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestRegistry;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.avro.AvroSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.SchemaMetadata;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericData;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.formats.avro.registry.confluent.ConfluentRegistryAvroDeserializationSchema;
import org.apache.flink.formats.avro.registry.confluent.ConfluentRegistryAvroSerializationSchema;
import org.junit.jupiter.api.Test;

/**
 * Interoperability with Confluent's own code: its registry client (7.5.3, relocated inside
 * flink-sql-avro-confluent-registry) against our registry, and Flink's Confluent-registry Avro
 * format against our serde, in both directions and byte for byte.
 */
class ConfluentInteropTest {
  static final String V1 = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"cc\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"}]}";
  static final String V2 = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"cc\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"},{\"name\":\"item\",\"type\":\"long\",\"default\":0}]}";
  static final String V3 = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"cc\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"},{\"name\":\"item\",\"type\":\"long\",\"default\":0},"
      + "{\"name\":\"page\",\"type\":\"string\"}]}";

  @Test
  void confluentClientRegistersAndReadsOnOurRegistry() throws Exception {
    String subject = TestRegistry.uniquePrefix() + "clicks-value";
    CachedSchemaRegistryClient confluent = new CachedSchemaRegistryClient(TestRegistry.url(), 100);

    int id1 = confluent.register(subject, new AvroSchema(V1));
    assertThat(confluent.getId(subject, new AvroSchema(V1))).isEqualTo(id1);
    assertThat(confluent.getSchemaById(id1).canonicalString()).isEqualTo(new AvroSchema(V1).canonicalString());
    assertThat(confluent.testCompatibility(subject, new AvroSchema(V2))).isTrue();
    int id2 = confluent.register(subject, new AvroSchema(V2));
    SchemaMetadata latest = confluent.getLatestSchemaMetadata(subject);
    assertThat(latest.getVersion()).isEqualTo(2);
    assertThat(latest.getId()).isEqualTo(id2);
    assertThat(confluent.getAllVersions(subject)).containsExactly(1, 2);
    assertThat(confluent.getAllSubjects()).contains(subject);
    assertThat(confluent.getVersion(subject, new AvroSchema(V1))).isEqualTo(1);

    assertThat(confluent.testCompatibility(subject, new AvroSchema(V3))).isFalse();
    assertThatThrownBy(() -> confluent.register(subject, new AvroSchema(V3)))
        .isInstanceOf(RestClientException.class)
        .satisfies(e -> assertThat(((RestClientException) e).getStatus()).isEqualTo(409))
        .hasMessageContaining("incompatible");

    // our client sees what the Confluent client registered, under the same ids
    RegistryClient ours = new RegistryClient(TestRegistry.serdeConfig());
    assertThat(ours.latest(subject).id()).isEqualTo(id2);
    assertThat(ours.schemaById(id1).toString()).isEqualTo(new AvroSchema(V1).canonicalString());
    assertThat(confluent.deleteSubject(subject, false)).containsExactly(1, 2);
  }

  @Test
  void ourSerializerAndFlinksConfluentFormatWriteIdenticalBytes() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    Interaction interaction = Fixtures.rating(7, 42, T0, 4.0f);
    Schema flinkSchema = new Schema.Parser().parse(Interaction.getClassSchema().toString());

    AvroSerializer<Interaction> ours = new AvroSerializer<>(TestRegistry.serdeConfig(), false);
    byte[] ourBytes = ours.serialize(topic, interaction);

    var flinkSer = ConfluentRegistryAvroSerializationSchema.forGeneric(topic + "-value", flinkSchema,
        TestRegistry.url());
    byte[] flinkBytes = flinkSer.serialize(toFlinkRecord(flinkSchema, interaction));

    assertThat(flinkBytes).isEqualTo(ourBytes);
  }

  @Test
  void flinkWritesOurDeserializerReads() {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    Schema flinkSchema = new Schema.Parser().parse(Interaction.getClassSchema().toString());
    var flinkSer = ConfluentRegistryAvroSerializationSchema.forGeneric(topic + "-value", flinkSchema,
        TestRegistry.url());
    Interaction expected = Fixtures.interaction(3, 9, T0.plusSeconds(30));
    byte[] bytes = flinkSer.serialize(toFlinkRecord(flinkSchema, expected));

    assertThat(bytes[0]).isZero();
    AvroDeserializer<Interaction> ours = AvroDeserializer.forSpecific(Interaction.class, TestRegistry.serdeConfig());
    assertThat(ours.deserialize(topic, bytes)).isEqualTo(expected);
  }

  @Test
  void weWriteFlinkReads() throws Exception {
    String topic = TestRegistry.uniquePrefix() + "interactions";
    Interaction sent = Fixtures.rating(5, 11, T0.plusMillis(123), 2.5f);
    byte[] bytes = new AvroSerializer<Interaction>(TestRegistry.serdeConfig(), false).serialize(topic, sent);

    Schema reader = new Schema.Parser().parse(Interaction.getClassSchema().toString());
    var flinkDe = ConfluentRegistryAvroDeserializationSchema.forGeneric(reader, TestRegistry.url());
    GenericRecord r = flinkDe.deserialize(bytes);
    assertThat(r.get("userId")).isEqualTo(5L);
    assertThat(r.get("itemId")).isEqualTo(11L);
    assertThat(r.get("eventTime")).isEqualTo(T0.plusMillis(123).toEpochMilli());
    assertThat(r.get("kind").toString()).isEqualTo("RATE");
    assertThat(r.get("rating")).isEqualTo(2.5f);
  }

  private static GenericRecord toFlinkRecord(Schema schema, Interaction i) {
    GenericData.Record r = new GenericData.Record(schema);
    r.put("userId", i.getUserId());
    r.put("itemId", i.getItemId());
    r.put("eventTime", i.getEventTime().toEpochMilli());
    r.put("kind", new GenericData.EnumSymbol(schema.getField("kind").schema(), i.getKind().name()));
    r.put("rating", i.getRating());
    return r;
  }
}
