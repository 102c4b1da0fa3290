package io.adaptrec.flink;

import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.AvroDeserializer;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.AvroSerializer;
import io.adaptrec.schemas.Topics;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job's Kafka edges: user-state (Confluent-format Avro, key = userId) in, user-pools out
 * (exactly-once, tombstone for a deleted pool). Each pool record carries two headers that the
 * Avro value has no field for: the per-user emission version (a consumer can check that nothing
 * was lost or duplicated) and when the user-state change behind it was produced (freshness).
 */
public final class KafkaIo {
  public static final String HEADER_POOL_VERSION = "adaptrec.pool-version";
  public static final String HEADER_SOURCE_PRODUCED_AT = "adaptrec.source-produced-at";

  private KafkaIo() {}

  public static Topics topics(PoolsConfig config) {
    return new Topics(config.topicPrefix(), serdeConfig(config));
  }

  static AvroSerdeConfig serdeConfig(PoolsConfig config) {
    return AvroSerdeConfig.of(config.schemaRegistryUrl());
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
        .setProperty("isolation.level", "read_committed")
        .build();
  }

  public static KafkaRecordDeserializationSchema<UserUpdate> userStateDeserializer(PoolsConfig config) {
    return new UserStateDeserializer(serdeConfig(config));
  }

  public static KafkaSink<PoolUpdate> sink(PoolsConfig config) {
    Properties producer = new Properties();
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

  /** UserState (or a tombstone) to {@link UserUpdate}; undecodable records are counted, logged and skipped. */
  static final class UserStateDeserializer implements KafkaRecordDeserializationSchema<UserUpdate> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(UserStateDeserializer.class);

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
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<UserUpdate> out) {
      try {
        Long key = keys.deserialize(record.topic(), record.key());
        if (record.value() == null) {
          if (key != null) {
            out.collect(UserUpdate.delete(key, record.timestamp()));
          }
          return;
        }
        UserState s = values.deserialize(record.topic(), record.value());
        float[] v = new float[s.getEmbedding().size()];
        for (int i = 0; i < v.length; i++) {
          v[i] = s.getEmbedding().get(i);
        }
        out.collect(new UserUpdate(s.getUserId(), v, s.getEmbeddingVersion(), s.getHistory().size(), false, record.timestamp()));
      } catch (RuntimeException e) {
        if (undecodable != null) {
          undecodable.inc();
        }
        LOG.warn("skipping undecodable user-state record {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
      }
    }

    @Override
    public TypeInformation<UserUpdate> getProducedType() {
      return TypeInformation.of(UserUpdate.class);
    }
  }

  /** {@link PoolUpdate} to a SimilarUserPool record keyed by userId, with version and freshness headers. */
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
        value = values.serialize(topic, new SimilarUserPool(p.userId(), neighbours, p.embeddingVersion(), Instant.ofEpochMilli(p.updatedAt())));
      }
      ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, p.updatedAt(), keys.serialize(topic, p.userId()), value);
      r.headers().add(HEADER_POOL_VERSION, ByteBuffer.allocate(8).putLong(p.version()).array());
      r.headers().add(HEADER_SOURCE_PRODUCED_AT, Long.toString(p.sourceProducedAt()).getBytes(StandardCharsets.UTF_8));
      return r;
    }
  }
}
