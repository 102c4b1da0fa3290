package io.adaptrec.schemas;

import java.io.IOException;
import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.AvroTypeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for Avro in the Confluent wire format. The writer schema comes from the
 * registry by the id in the header; the reader schema is chosen once per instance:
 *
 * <ul>
 *   <li>a generated class ({@link #forSpecific}): its schema, so bytes written with an older or
 *       newer compatible schema are resolved into the current class;
 *   <li>an explicit schema ({@link #forSchema}): GenericRecords (or primitives) in that schema;
 *   <li>none (Kafka's reflective construction): the generated class named like the writer schema
 *       when {@code specific.avro.reader=true} and that class is on the classpath, otherwise the
 *       writer schema itself (GenericRecord).
 * </ul>
 *
 * <p>Serializable (for Flink): the registry client and caches are rebuilt after deserialization.
 */
public class AvroDeserializer<T> implements Deserializer<T>, Serializable {
  private static final long serialVersionUID = 1L;

  static {
    AvroClasses.trustGenerated();
  }

  private AvroSerdeConfig config;
  private Class<? extends SpecificRecord> specificClass;
  private String readerSchemaJson;
  private transient Schema readerSchema;
  private transient RegistryClient client;
  private transient Map<Integer, DatumReader<Object>> readers;

  /** For Kafka's reflective construction; {@link #configure} must follow. */
  public AvroDeserializer() {}

  private AvroDeserializer(RegistryClient client, AvroSerdeConfig config,
      Class<? extends SpecificRecord> specificClass, Schema readerSchema) {
    this.client = client;
    this.config = client != null ? client.config() : config;
    this.specificClass = specificClass;
    this.readerSchema = readerSchema;
    this.readerSchemaJson = readerSchema == null ? null : readerSchema.toString();
  }

  /** Reads into generated class {@code type}, resolving from whatever compatible schema wrote the bytes. */
  public static <T extends SpecificRecord> AvroDeserializer<T> forSpecific(Class<T> type, RegistryClient client) {
    return new AvroDeserializer<>(client, null, type, SpecificData.getForClass(type).getSchema(type));
  }

  public static <T extends SpecificRecord> AvroDeserializer<T> forSpecific(Class<T> type, AvroSerdeConfig config) {
    return new AvroDeserializer<>(null, config, type, SpecificData.getForClass(type).getSchema(type));
  }

  /**
   * Reads with {@code readerSchema} (GenericRecord for records, Long/String/... for primitives);
   * null reads with each record's writer schema.
   */
  public static <T> AvroDeserializer<T> forSchema(Schema readerSchema, RegistryClient client) {
    return new AvroDeserializer<>(client, null, null, stringsAsJavaStrings(readerSchema));
  }

  public static <T> AvroDeserializer<T> forSchema(Schema readerSchema, AvroSerdeConfig config) {
    return new AvroDeserializer<>(null, config, null, stringsAsJavaStrings(readerSchema));
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (configs.containsKey(AvroSerdeConfig.SCHEMA_REGISTRY_URL) || config == null) {
      this.config = AvroSerdeConfig.fromMap(configs);
      this.client = null;
      this.readers = null;
    }
  }

  @Override
  @SuppressWarnings("unchecked")
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (config == null) {
      throw new ConfigException("AvroDeserializer used before configure(): set " + AvroSerdeConfig.SCHEMA_REGISTRY_URL);
    }
    int id = WireFormat.schemaId(data, "a record of topic " + topic);
    DatumReader<Object> reader;
    try {
      reader = readers().computeIfAbsent(id, this::newReader);
    } catch (RegistryException e) {
      if (e.isUnavailable()) {
        throw new RegistryUnavailableException("Cannot deserialize a record of topic " + topic + " now: the writer schema "
            + id + " is not cached and the registry cannot be asked (" + e.getMessage() + "); retry later", e);
      }
      String why = e.isNotFound()
          ? "unknown schema id " + id + " (not in registry " + client().urls() + ")"
          : e.getMessage();
      throw new SerializationException("Cannot deserialize a record of topic " + topic + ": " + why, e);
    } catch (AvroRuntimeException e) {
      throw new SerializationException("Cannot deserialize a record of topic " + topic + ": writer schema id "
          + id + " cannot be read as " + describeReader() + ": " + e.getMessage(), e);
    }
    try {
      Object result = reader.read(null, DecoderFactory.get()
          .binaryDecoder(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE, null));
      // Confluent returns java.lang.String for string-typed data; so do we
      return (T) (result instanceof CharSequence cs ? cs.toString() : result);
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
      throw new SerializationException("Corrupt Avro payload in a record of topic " + topic + " (schema id " + id
          + ", " + data.length + " bytes): " + e.getMessage(), e);
    }
  }

  private DatumReader<Object> newReader(int id) {
    Schema writer = client().schemaById(id);
    Schema reader = readerSchema();
    if (specificClass != null) {
      checkResolvable(writer, reader, id);
      return new SpecificDatumReader<>(writer, reader, SpecificData.getForClass(specificClass));
    }
    if (reader != null) {
      checkResolvable(writer, reader, id);
      return new GenericDatumReader<>(writer, reader, GenericData.get());
    }
    if (config.specificAvroReader() && writer.getType() == Schema.Type.RECORD) {
      Class<?> generated = SpecificData.get().getClass(writer);
      if (generated != null && SpecificRecord.class.isAssignableFrom(generated)) {
        SpecificData model = SpecificData.getForClass(generated);
        return new SpecificDatumReader<>(writer, model.getSchema(generated), model);
      }
    }
    return new GenericDatumReader<>(writer, writer, GenericData.get());
  }

  /** Fails on first use of an id with Avro's own explanation, not mid-record with an opaque one. */
  private void checkResolvable(Schema writer, Schema reader, int id) {
    var compat = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
    if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      throw new AvroTypeException("incompatible: " + compat.getResult().getIncompatibilities().stream()
          .map(i -> i.getType() + " at " + i.getLocation() + " (" + i.getMessage() + ")").toList());
    }
  }

  private String describeReader() {
    if (specificClass != null) {
      return specificClass.getName();
    }
    Schema r = readerSchema();
    return r == null ? "its writer schema" : "reader schema " + r.getFullName();
  }

  private Schema readerSchema() {
    if (readerSchema == null && readerSchemaJson != null) {
      readerSchema = new Schema.Parser().parse(readerSchemaJson);
    }
    return readerSchema;
  }

  private Map<Integer, DatumReader<Object>> readers() {
    if (readers == null) {
      readers = new ConcurrentHashMap<>();
    }
    return readers;
  }

  private RegistryClient client() {
    if (client == null) {
      client = new RegistryClient(config);
    }
    return client;
  }

  /** A bare "string" reader would produce Utf8; the property makes Avro produce String. */
  private static Schema stringsAsJavaStrings(Schema schema) {
    if (schema != null && schema.getType() == Schema.Type.STRING && schema.getProp(GenericData.STRING_PROP) == null) {
      Schema s = Schema.create(Schema.Type.STRING);
      GenericData.setStringType(s, GenericData.StringType.String);
      return s;
    }
    return schema;
  }
}
