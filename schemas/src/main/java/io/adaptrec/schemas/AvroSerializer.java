package io.adaptrec.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer writing Avro in the Confluent wire format, with the writer schema registered
 * under the TopicNameStrategy subject ({@code <topic>-key} / {@code <topic>-value}).
 *
 * <p>Accepts generated classes, {@code GenericRecord}s and the Avro primitives Long, Integer,
 * String, Float, Double, Boolean, ByteBuffer (the primitives register as {@code "long"},
 * {@code "string"}, ..., exactly as Confluent's serializer does, so ids and bytes match).
 *
 * <p>Serializable (for Flink): the registry client and caches are rebuilt after deserialization.
 */
public class AvroSerializer<T> implements Serializer<T>, Serializable {
  private static final long serialVersionUID = 1L;

  static {
    AvroClasses.trustGenerated();
  }

  private AvroSerdeConfig config;
  private boolean isKey;
  private transient RegistryClient client;
  private transient Map<Schema, DatumWriter<Object>> writers;
  private transient Map<String, Map<Schema, Integer>> idsByTopic;

  /** For Kafka's reflective construction; {@link #configure} must follow. */
  public AvroSerializer() {}

  public AvroSerializer(RegistryClient client, boolean isKey) {
    this.config = client.config();
    this.client = client;
    this.isKey = isKey;
  }

  public AvroSerializer(AvroSerdeConfig config, boolean isKey) {
    this.config = config;
    this.isKey = isKey;
  }

  /**
   * Takes the registry settings from {@code configs}; if they carry no
   * {@code schema.registry.url} an already configured instance keeps its settings (Kafka
   * Streams may configure serdes that were handed to it ready-made).
   */
  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    if (configs.containsKey(AvroSerdeConfig.SCHEMA_REGISTRY_URL) || config == null) {
      this.config = AvroSerdeConfig.fromMap(configs);
      this.client = null;
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null; // tombstones stay tombstones
    }
    if (config == null) {
      throw new ConfigException("AvroSerializer used before configure(): set " + AvroSerdeConfig.SCHEMA_REGISTRY_URL);
    }
    Schema schema = schemaOf(data);
    String subject = topic + (isKey ? "-key" : "-value");
    Object datum = data;
    Schema writeSchema = schema;
    int id;
    try {
      if (config.useLatestVersion()) {
        RegistryClient.SchemaVersion latest = client().latest(subject);
        id = latest.id();
        if (!latest.schema().equals(schema)) {
          datum = convert(data, schema, latest.schema(), subject, latest.version());
          writeSchema = latest.schema();
        }
      } else {
        id = idsByTopic().computeIfAbsent(topic, t -> new ConcurrentHashMap<>())
            .computeIfAbsent(schema, s -> config.autoRegisterSchemas()
                ? client().register(subject, s)
                : lookup(subject, s));
      }
    } catch (RegistryException e) {
      String what = "Cannot serialize " + schema.getFullName() + " for topic " + topic + " (subject " + subject + ")";
      if (e.isUnavailable()) {
        throw new RegistryUnavailableException(what + " now: the schema id is not cached and the registry cannot be asked ("
            + e.getMessage() + "); retry later", e);
      }
      throw new SerializationException(what + ": " + e.getMessage(), e);
    }
    return encode(datum, writeSchema, id, topic);
  }

  private int lookup(String subject, Schema schema) {
    try {
      return client().lookupId(subject, schema);
    } catch (RegistryException e) {
      if (e.isNotFound()) {
        throw new RegistryException("schema " + schema.getFullName() + " is not registered under subject "
            + subject + " and " + AvroSerdeConfig.AUTO_REGISTER_SCHEMAS + "=false (" + e.getMessage() + ")",
            e.httpStatus(), e.errorCode(), e);
      }
      throw e;
    }
  }

  private byte[] encode(Object datum, Schema writeSchema, int id, String topic) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    out.write(WireFormat.MAGIC_BYTE);
    out.writeBytes(ByteBuffer.allocate(4).putInt(id).array());
    try {
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      writer(writeSchema, datum).write(datum, encoder);
      encoder.flush();
    } catch (IOException | AvroRuntimeException | ClassCastException | NullPointerException e) {
      // Avro reports a missing required field as an NPE naming the field; keep its message
      throw new SerializationException("Invalid " + writeSchema.getFullName() + " for topic " + topic + ": "
          + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  /**
   * use.latest.version writes the subject's latest schema, which may differ from the record's
   * own; re-reading the record through Avro schema resolution is the one conversion that is
   * right for every compatible pair (renamed-by-alias, defaulted and dropped fields).
   */
  private Object convert(Object data, Schema own, Schema latest, String subject, int version) {
    var compat = SchemaCompatibility.checkReaderWriterCompatibility(latest, own);
    if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      throw new RegistryException("latest schema of " + subject + " (version " + version
          + ") cannot represent a " + own.getFullName() + ": " + compat.getDescription(), 409, 409, null);
    }
    try {
      ByteArrayOutputStream tmp = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(tmp, null);
      writer(own, data).write(data, enc);
      enc.flush();
      return new GenericDatumReader<>(own, latest, GenericData.get())
          .read(null, DecoderFactory.get().binaryDecoder(tmp.toByteArray(), null));
    } catch (IOException e) {
      throw new SerializationException("Cannot convert " + own.getFullName() + " to latest schema of " + subject, e);
    }
  }

  private DatumWriter<Object> writer(Schema schema, Object datum) {
    if (writers == null) {
      writers = new ConcurrentHashMap<>();
    }
    return writers.computeIfAbsent(schema, s -> datum instanceof SpecificRecord
        // the class's own model carries its logical-type conversions (Instant <-> timestamp-millis)
        ? new SpecificDatumWriter<>(s, SpecificData.getForClass(datum.getClass()))
        : new GenericDatumWriter<>(s, GenericData.get()));
  }

  private Map<String, Map<Schema, Integer>> idsByTopic() {
    if (idsByTopic == null) {
      idsByTopic = new ConcurrentHashMap<>();
    }
    return idsByTopic;
  }

  private RegistryClient client() {
    if (client == null) {
      client = new RegistryClient(config);
    }
    return client;
  }

  static Schema schemaOf(Object data) {
    if (data instanceof GenericContainer c) {
      return c.getSchema();
    }
    Schema.Type type;
    if (data instanceof Long) {
      type = Schema.Type.LONG;
    } else if (data instanceof CharSequence) {
      type = Schema.Type.STRING;
    } else if (data instanceof Integer) {
      type = Schema.Type.INT;
    } else if (data instanceof Double) {
      type = Schema.Type.DOUBLE;
    } else if (data instanceof Float) {
      type = Schema.Type.FLOAT;
    } else if (data instanceof Boolean) {
      type = Schema.Type.BOOLEAN;
    } else if (data instanceof ByteBuffer) {
      type = Schema.Type.BYTES;
    } else {
      throw new SerializationException("Cannot serialize " + data.getClass().getName()
          + " as Avro: expected a generated record, GenericRecord or an Avro primitive");
    }
    return Schema.create(type);
  }
}
