package io.adaptrec.flink;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.AvroDeserializer;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.AvroSerializer;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.Topics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The job's Kafka edges: user-state (Confluent-format Avro, key = userId) in, user-pools out
 * (exactly-once, tombstone for a deleted pool), and dead-letter out (at-least-once) for user-state
 * records that cannot be decoded or pooled. Each pool record carries two headers: the per-user
 * emission version (a consumer can check that nothing was lost or duplicated; also the value's
 * {@code poolVersion} field, which a tombstone has no value for) and when the user-state change
 * behind it was produced (freshness).
 */
public final class KafkaIo {
  public static final String HEADER_POOL_VERSION = "adaptrec.pool-version";
  public static final String HEADER_SOURCE_PRODUCED_AT = "adaptrec.source-produced-at";

  private KafkaIo() {}

  public static Topics topics(PoolsConfig config) {
    return new Topics(config.topicPrefix(), serdeConfig(config));
  }

  static AvroSerdeConfig serdeConfig(PoolsConfig config) {
    return AvroSerdeConfig.of(config.schemaRegistryUrl(), config.kafkaClient());
  }

  public static KafkaSource<UserUpdate> source(PoolsConfig config) {
    return source(config, userStateDeserializer(config));
  }

  /** The user-state source with a given record decoder (tests wrap it to inject failures). */
  public static KafkaSource<UserUpdate> source(PoolsConfig config, KafkaRecordDeserializationSchema<UserUpdate> decoder) {
    OffsetsInitializer start = config.startingOffsets().equals("committed")
        ? OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST)
        : OffsetsInitializer.earliest();
    return KafkaSource.<UserUpdate>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setTopics(topics(config).userState().name())
        .setGroupId(config.groupId())
        .setStartingOffsets(start)
        .setDeserializer(decoder)
        .setProperties(config.kafkaClientProperties())
        .setProperty("isolation.level", "read_committed")
        .build();
  }

  public static KafkaRecordDeserializationSchema<UserUpdate> userStateDeserializer(PoolsConfig config) {
    return new UserStateDeserializer(serdeConfig(config));
  }

  public static KafkaSink<PoolUpdate> sink(PoolsConfig config) {
    Properties producer = config.kafkaClientProperties();
    // must exceed the checkpoint interval plus recovery time, and stay under the broker's
    // transaction.max.timeout.ms (15 min by default)
    producer.setProperty("transaction.timeout.ms", String.valueOf(Math.max(60_000L, Math.min(900_000L, config.checkpointIntervalMs() * 10))));
    return KafkaSink.<PoolUpdate>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setKafkaProducerConfig(producer)
        .setRecordSerializer(new PoolSerializer(topics(config).userPools().name(), serdeConfig(config)))
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(config.transactionalIdPrefix())
        .build();
  }

  /**
   * The dead-letter sink: {@link DeadLetterRecord}s to the {@code dead-letter} topic as Avro
   * {@code DeadLetter}s keyed by source topic. At-least-once (no transactions): a dead letter may
   * be written twice after a restore from a checkpoint, never lost; consumers de-duplicate by
   * (topic, partition, offset).
   */
  public static KafkaSink<DeadLetterRecord> deadLetterSink(PoolsConfig config) {
    return KafkaSink.<DeadLetterRecord>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setKafkaProducerConfig(config.kafkaClientProperties())
        .setRecordSerializer(new DeadLetterSerializer(topics(config).deadLetter().name(), serdeConfig(config)))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }

  /**
   * UserState (or a tombstone) to {@link UserUpdate} carrying its {@link UserUpdate.Origin}; a
   * record that cannot be decoded is counted ({@code undecodableUserStates}) and passed on as
   * {@link UserUpdate#undecodable} for {@link UserStateValidator} to dead-letter. A record whose
   * writer schema cannot be fetched because the registry is down fails the task instead: it is
   * retried after the restart, never dead-lettered.
   */
  static final class UserStateDeserializer implements KafkaRecordDeserializationSchema<UserUpdate> {
    private static final long serialVersionUID = 1L;

    private final AvroDeserializer<Long> keys;
    private final AvroDeserializer<UserState> values;
    private transient Counter undecodable;

    UserStateDeserializer(AvroSerdeConfig serde) {
      this.keys = AvroDeserializer.forSchema(Schema.create(Schema.Type.LONG), serde);
      this.values = AvroDeserializer.forSpecific(UserState.class, serde);
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
      undecodable = context.getMetricGroup().counter("undecodableUserStates");
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<UserUpdate> out) throws IOException {
      UserUpdate.Origin origin = new UserUpdate.Origin(record.topic(), record.partition(), record.offset(), record.key(), record.value(), null);
      UserUpdate decoded;
      try {
        decoded = decode(record, origin);
      } catch (RuntimeException e) {
        if (RegistryUnavailableException.in(e)) {
          // not a bad record: fail the task, so the job restarts from its last checkpoint (with the
          // restart strategy's growing delay) and reads the record again once the registry answers
          throw new IOException("user-state " + record.topic() + "-" + record.partition() + "@" + record.offset()
              + " cannot be decoded while the schema registry is unavailable", e);
        }
        if (undecodable != null) {
          undecodable.inc();
        }
        decoded = UserUpdate.undecodable(new UserUpdate.Origin(record.topic(), record.partition(), record.offset(),
            record.key(), record.value(), describe(e)), record.timestamp());
      }
      if (decoded != null) {
        out.collect(decoded);
      }
    }

    private UserUpdate decode(ConsumerRecord<byte[], byte[]> record, UserUpdate.Origin origin) {
      Long key = keys.deserialize(record.topic(), record.key());
      if (record.value() == null) {
        if (key == null) {
          throw new IllegalArgumentException("tombstone without a key");
        }
        return UserUpdate.delete(key, record.timestamp()).withOrigin(origin);
      }
      UserState s = values.deserialize(record.topic(), record.value());
      float[] v = new float[s.getEmbedding().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = s.getEmbedding().get(i);
      }
      return new UserUpdate(s.getUserId(), v, s.getEmbeddingVersion(), s.getHistory().size(), false, record.timestamp(), origin);
    }

    @Override
    public TypeInformation<UserUpdate> getProducedType() {
      return TypeInformation.of(UserUpdate.class);
    }
  }

  /** The innermost causes' messages, which say what was wrong with the bytes (as the streams module's DeadLetters). */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
      if (t.getMessage() != null && !sb.toString().contains(t.getMessage())) {
        sb.append(": ").append(t.getMessage());
      }
    }
    return sb.length() > 1000 ? sb.substring(0, 1000) + "..." : sb.toString();
  }

  /** {@link DeadLetterRecord} to a DeadLetter record keyed by the source topic's name. */
  static final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetterRecord> {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final AvroSerializer<String> keys;
    private final AvroSerializer<DeadLetter> values;

    DeadLetterSerializer(String topic, AvroSerdeConfig serde) {
      this.topic = topic;
      this.keys = new AvroSerializer<>(serde, true);
      this.values = new AvroSerializer<>(serde, false);
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {}

    @Override
    public ProducerRecord<byte[], byte[]> serialize(DeadLetterRecord d, KafkaSinkContext context, Long timestamp) {
      DeadLetter letter = DeadLetter.newBuilder()
          .setTopic(d.topic())
          .setPartition(d.partition())
          .setOffset(d.offset())
          .setError(d.error())
          .setSource(d.source())
          .setRawKey(d.rawKey() == null ? null : ByteBuffer.wrap(d.rawKey()))
          .setRawBytes(d.rawValue() == null ? null : ByteBuffer.wrap(d.rawValue()))
          .setFailedAt(Instant.ofEpochMilli(d.failedAt()))
          .build();
      return new ProducerRecord<>(topic, null, d.failedAt(), keys.serialize(topic, d.topic()), values.serialize(topic, letter));
    }
  }

  /**
   * {@link PoolUpdate} to a SimilarUserPool record keyed by userId, with version and freshness
   * headers; the value's {@code poolVersion} is the same number as the version header.
   */
  static final class PoolSerializer implements KafkaRecordSerializationSchema<PoolUpdate> {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final AvroSerializer<Long> keys;
    private final AvroSerializer<SimilarUserPool> values;

    PoolSerializer(String topic, AvroSerdeConfig serde) {
      this.topic = topic;
      this.keys = new AvroSerializer<>(serde, true);
      this.values = new AvroSerializer<>(serde, false);
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {}

    @Override
    public ProducerRecord<byte[], byte[]> serialize(PoolUpdate p, KafkaSinkContext context, Long timestamp) {
      byte[] value = null;
      if (!p.deleted()) {
        List<Neighbour> neighbours = new ArrayList<>(p.neighbourIds().length);
        for (int i = 0; i < p.neighbourIds().length; i++) {
          neighbours.add(new Neighbour(p.neighbourIds()[i], p.similarities()[i]));
        }
        value = values.serialize(topic, SimilarUserPool.newBuilder()
            .setUserId(p.userId())
            .setNeighbours(neighbours)
            .setVersion(p.embeddingVersion())
            .setUpdatedAt(Instant.ofEpochMilli(p.updatedAt()))
            .setPoolVersion(p.version())
            .build());
      }
      ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, p.updatedAt(), keys.serialize(topic, p.userId()), value);
      r.headers().add(HEADER_POOL_VERSION, ByteBuffer.allocate(8).putLong(p.version()).array());
      r.headers().add(HEADER_SOURCE_PRODUCED_AT, Long.toString(p.sourceProducedAt()).getBytes(StandardCharsets.UTF_8));
      return r;
    }
  }
}
