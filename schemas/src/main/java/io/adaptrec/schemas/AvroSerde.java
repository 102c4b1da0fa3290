package io.adaptrec.schemas;

import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka {@link Serde} pairing {@link AvroSerializer} and {@link AvroDeserializer}: Avro in the
 * Confluent wire format through a Confluent-API schema registry. Usually obtained from
 * {@link Topics}; build one directly for ad-hoc topics.
 */
public final class AvroSerde<T> implements Serde<T> {
  private final AvroSerializer<T> serializer;
  private final AvroDeserializer<T> deserializer;

  private AvroSerde(AvroSerializer<T> serializer, AvroDeserializer<T> deserializer) {
    this.serializer = serializer;
    this.deserializer = deserializer;
  }

  /** Values (or keys) of generated class {@code type}. */
  public static <T extends SpecificRecord> AvroSerde<T> forSpecific(Class<T> type, RegistryClient client, boolean isKey) {
    return new AvroSerde<>(new AvroSerializer<>(client, isKey), AvroDeserializer.forSpecific(type, client));
  }

  /** Avro {@code long} keys or values (registered as the primitive schema {@code "long"}). */
  public static AvroSerde<Long> forLong(RegistryClient client, boolean isKey) {
    return new AvroSerde<>(new AvroSerializer<>(client, isKey),
        AvroDeserializer.forSchema(Schema.create(Schema.Type.LONG), client));
  }

  /** Avro {@code string} keys or values (registered as the primitive schema {@code "string"}). */
  public static AvroSerde<String> forString(RegistryClient client, boolean isKey) {
    return new AvroSerde<>(new AvroSerializer<>(client, isKey),
        AvroDeserializer.forSchema(Schema.create(Schema.Type.STRING), client));
  }

  /**
   * GenericRecords (or primitives) read with {@code readerSchema}; null reads each record with
   * its writer schema, or into a generated class if {@code specific.avro.reader} is true.
   */
  public static <T> AvroSerde<T> forSchema(Schema readerSchema, RegistryClient client, boolean isKey) {
    return new AvroSerde<>(new AvroSerializer<>(client, isKey), AvroDeserializer.forSchema(readerSchema, client));
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    serializer.configure(configs, isKey);
    deserializer.configure(configs, isKey);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }
}
