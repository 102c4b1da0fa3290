package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.AvroDeserializer;
import io.adaptrec.schemas.AvroSerializer;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The job end to end on a MiniCluster (parallelism 2, RocksDB, exactly-once Kafka sink) against
 * the real embedded broker and schema registry, with one injected failure after a checkpoint:
 * the committed user-pools output must hold, per user, versions 1..k exactly once (nothing lost,
 * nothing duplicated), the value's poolVersion equal to the version header, and end with the
 * brute-force Top-10 over the final user states, per embedding version (a quarter of the second
 * batch's updates move users from text-v1 to text-v2). A corrupt
 * record and an embedding of the wrong dimension land on the dead-letter topic with their offsets
 * and reasons while pools keep flowing; an empty embedding is only counted.
 */
class SimilarUserPoolsIT {
  static final int DIM = 8;
  static final int USERS = 40;
  static final AtomicBoolean FAIL_NEXT = new AtomicBoolean();
  static final AtomicInteger FAILURES = new AtomicInteger();

  /** Decodes normally, but throws once when armed: a crash in the middle of the stream. */
  static final class FailOnce implements KafkaRecordDeserializationSchema<UserUpdate> {
    private final KafkaRecordDeserializationSchema<UserUpdate> inner;

    FailOnce(KafkaRecordDeserializationSchema<UserUpdate> inner) {
      this.inner = inner;
    }

    @Override
    public void open(org.apache.flink.api.common.serialization.DeserializationSchema.InitializationContext context) throws Exception {
      inner.open(context);
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<UserUpdate> out) throws java.io.IOException {
      if (FAIL_NEXT.compareAndSet(true, false)) {
        FAILURES.incrementAndGet();
        throw new IllegalStateException("injected failure at " + record.topic() + "-" + record.partition() + "@" + record.offset());
      }
      inner.deserialize(record, out);
    }

    @Override
    public TypeInformation<UserUpdate> getProducedType() {
      return inner.getProducedType();
    }
  }

  @Test
  void poolsSurviveAFailureWithoutLossOrDuplication() throws Exception {
    Topics topics = TestRegistry.freshTopics();
    TestKafka.createTopics(List.of(topics.userState(), topics.userPools(), topics.deadLetter()));
    PoolsConfig config = PoolsConfig.defaults().with(Map.of("embedding.dim", Integer.toString(DIM))).with(Map.of(
        "parallelism", "2",
        "state.backend", "rocksdb",
        "checkpoint.interval-ms", "500",
        "checkpoint.dir", "file://" + System.getProperty("java.io.tmpdir") + "/pools-it-checkpoints",
        "restart.attempts", "3",
        "restart.delay-ms", "200",
        "kafka.bootstrap-servers", TestKafka.bootstrapServers(),
        "schema.registry.url", TestRegistry.url(),
        "topic.prefix", topics.prefix(),
        "kafka.transactional-id-prefix", topics.prefix() + "pools"));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    new SimilarUserPoolsJob(config, config.partitioner(), KafkaIo.source(config, new FailOnce(KafkaIo.userStateDeserializer(config))),
        KafkaIo.sink(config)).withDeadLetterSink(KafkaIo.deadLetterSink(config)).build(env);

    Random rnd = new Random(3);
    Map<Long, float[]> finalUnits = new HashMap<>();
    Map<Long, String> finalVersions = new HashMap<>();
    List<ProducerRecord<Long, UserState>> firstBatch = new ArrayList<>();
    for (long u = 0; u < USERS; u++) {
      firstBatch.add(state(topics, u, randomVector(rnd), u % 10 == 9 ? 2 : 5, "text-v1", finalUnits, finalVersions));
    }
    List<ProducerRecord<Long, UserState>> secondBatch = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      long u = rnd.nextInt(USERS);
      if (i % 16 == 5) {
        secondBatch.add(new ProducerRecord<>(topics.userState().name(), u, null));
        finalUnits.remove(u);
        finalVersions.remove(u);
      } else {
        // the migration: once moved to text-v2 a user stays there
        String version = i % 4 == 0 || "text-v2".equals(finalVersions.get(u)) ? "text-v2" : "text-v1";
        secondBatch.add(state(topics, u, randomVector(rnd), 5, version, finalUnits, finalVersions));
      }
    }
    assertThat(finalVersions.values()).contains("text-v1", "text-v2");

    JobClient job = env.executeAsync("pools-it");
    try (KafkaProducer<Long, UserState> producer = producer(topics);
        KafkaConsumer<byte[], byte[]> consumer = committedReader(topics)) {
      Map<Long, List<ConsumerRecord<byte[], byte[]>>> committed = new HashMap<>();
      firstBatch.forEach(producer::send);
      producer.flush();
      // bad records among good ones: undecodable bytes, a wrong dimension, an empty embedding (not a dead letter)
      byte[] corrupt = "{\"userId\": 1000}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      RecordMetadata corruptAt;
      try (KafkaProducer<byte[], byte[]> raw = rawProducer()) {
        byte[] key = new AvroSerializer<Long>(TestRegistry.serdeConfig(), true).serialize(topics.userState().name(), 1000L);
        corruptAt = raw.send(new ProducerRecord<>(topics.userState().name(), key, corrupt)).get();
      }
      RecordMetadata wrongDimAt = producer.send(new ProducerRecord<>(topics.userState().name(), 1001L,
          Fixtures.userState(1001L, Collections.nCopies(5, 7L), randomVector(rnd, DIM + 1)))).get();
      producer.send(new ProducerRecord<>(topics.userState().name(), 1002L,
          Fixtures.userState(1002L, Collections.nCopies(5, 7L), new float[0]))).get();
      // committed output is only visible after a completed checkpoint: wait for some, then crash
      await().atMost(Duration.ofSeconds(90)).until(() -> poll(consumer, committed) > 0);
      FAIL_NEXT.set(true);
      secondBatch.forEach(producer::send);
      producer.flush();

      AvroDeserializer<SimilarUserPool> pools = AvroDeserializer.forSpecific(SimilarUserPool.class, TestRegistry.serdeConfig());
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        poll(consumer, committed);
        assertThat(FAILURES.get()).isEqualTo(1);
        for (long u = 0; u < USERS; u++) {
          List<ConsumerRecord<byte[], byte[]>> records = committed.getOrDefault(u, List.of());
          if (!finalUnits.containsKey(u)) {
            assertThat(records.isEmpty() || records.get(records.size() - 1).value() == null)
                .as("user %d is not pooled: no pool or a tombstone last", u).isTrue();
            continue;
          }
          assertThat(records).as("records of user %d", u).isNotEmpty();
          SimilarUserPool last = pools.deserialize(topics.userPools().name(), records.get(records.size() - 1).value());
          assertThat(last.getVersion()).as("embedding version of user %d's pool", u).isEqualTo(finalVersions.get(u));
          long[] expected = BruteForce.topNInVersion(u, finalUnits, finalVersions, 10).topIds(10);
          assertThat(last.getNeighbours().stream().map(n -> n.getUserId()).toList()).as("pool of user %d", u)
              .containsExactlyElementsOf(java.util.Arrays.stream(expected).boxed().toList());
        }
      });
      assertThat(committed.keySet()).doesNotContain(1000L, 1001L, 1002L);

      // dead letters are at-least-once: a restore may repeat one, so match by (partition, offset)
      AvroDeserializer<DeadLetter> letters = AvroDeserializer.forSpecific(DeadLetter.class, TestRegistry.serdeConfig());
      AvroDeserializer<String> letterKeys = AvroDeserializer.forSchema(Schema.create(Schema.Type.STRING), TestRegistry.serdeConfig());
      Map<Long, DeadLetter> byOffset = new HashMap<>();
      try (KafkaConsumer<byte[], byte[]> dlq = reader(topics, topics.deadLetter().name())) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
          for (ConsumerRecord<byte[], byte[]> r : dlq.poll(Duration.ofMillis(300))) {
            assertThat(letterKeys.deserialize(r.topic(), r.key())).isEqualTo(topics.userState().name());
            DeadLetter d = letters.deserialize(r.topic(), r.value());
            assertThat(d.getTopic()).isEqualTo(topics.userState().name());
            byOffset.put(((long) d.getPartition() << 40) | d.getOffset(), d);
          }
          assertThat(byOffset).containsKeys(coordinates(corruptAt), coordinates(wrongDimAt));
        });
      }
      DeadLetter undecodable = byOffset.get(coordinates(corruptAt));
      assertThat(undecodable.getError()).startsWith("cannot deserialize record:");
      assertThat(undecodable.getSource()).isEqualTo("flink/SimilarUserPoolsJob/validate-user-state");
      assertThat(undecodable.getRawBytes()).isEqualTo(ByteBuffer.wrap(corrupt));
      assertThat(byOffset.get(coordinates(wrongDimAt)).getError())
          .isEqualTo("user 1001 not pooled: embedding has 9 dimensions, embedding.dim is 8");
      assertThat(byOffset.values()).as("only the two bad records").allMatch(d ->
          coordinates(d.getPartition(), d.getOffset()) == coordinates(corruptAt) || coordinates(d.getPartition(), d.getOffset()) == coordinates(wrongDimAt));

      for (Map.Entry<Long, List<ConsumerRecord<byte[], byte[]>>> e : committed.entrySet()) {
        List<Long> versions = e.getValue().stream()
            .map(r -> ByteBuffer.wrap(r.headers().lastHeader(KafkaIo.HEADER_POOL_VERSION).value()).getLong()).toList();
        List<Long> expected = new ArrayList<>();
        for (long v = 1; v <= versions.size(); v++) {
          expected.add(v);
        }
        assertThat(versions).as("committed versions of user %d", e.getKey()).containsExactlyElementsOf(expected);
        for (ConsumerRecord<byte[], byte[]> r : e.getValue()) {
          if (r.value() != null) {
            long header = ByteBuffer.wrap(r.headers().lastHeader(KafkaIo.HEADER_POOL_VERSION).value()).getLong();
            assertThat(pools.deserialize(r.topic(), r.value()).getPoolVersion())
                .as("poolVersion field of user %d's record with header %d", e.getKey(), header).isEqualTo(header);
          }
        }
      }
    } finally {
      job.cancel().get();
    }
  }

  static int poll(KafkaConsumer<byte[], byte[]> consumer, Map<Long, List<ConsumerRecord<byte[], byte[]>>> into) {
    AvroDeserializer<Long> keys = AvroDeserializer.forSchema(Schema.create(Schema.Type.LONG), TestRegistry.serdeConfig());
    int n = 0;
    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(300))) {
      into.computeIfAbsent(keys.deserialize(r.topic(), r.key()), k -> new ArrayList<>()).add(r);
      n++;
    }
    return n + into.size();
  }

  static ProducerRecord<Long, UserState> state(Topics topics, long user, float[] v, int history, String version,
      Map<Long, float[]> finalUnits, Map<Long, String> finalVersions) {
    List<Long> items = new ArrayList<>(Collections.nCopies(history, 100L + user));
    if (history >= 3) {
      finalUnits.put(user, Vectors.normalised(v));
      finalVersions.put(user, version);
    } else {
      finalUnits.remove(user);
      finalVersions.remove(user);
    }
    UserState s = Fixtures.userState(user, items, v);
    s.setEmbeddingVersion(version);
    return new ProducerRecord<>(topics.userState().name(), user, s);
  }

  static long coordinates(RecordMetadata m) {
    return coordinates(m.partition(), m.offset());
  }

  static long coordinates(int partition, long offset) {
    return ((long) partition << 40) | offset;
  }

  static float[] randomVector(Random rnd) {
    return randomVector(rnd, DIM);
  }

  static float[] randomVector(Random rnd, int dim) {
    float[] v = new float[dim];
    for (int d = 0; d < dim; d++) {
      v[d] = (float) rnd.nextGaussian();
    }
    return v;
  }

  static KafkaProducer<Long, UserState> producer(Topics topics) {
    Map<String, Object> p = new HashMap<>(TestRegistry.serdeConfig().toMap());
    p.put("bootstrap.servers", TestKafka.bootstrapServers());
    return new KafkaProducer<>(p, new AvroSerializer<>(TestRegistry.serdeConfig(), true), new AvroSerializer<>(TestRegistry.serdeConfig(), false));
  }

  static KafkaProducer<byte[], byte[]> rawProducer() {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", TestKafka.bootstrapServers());
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  static KafkaConsumer<byte[], byte[]> reader(Topics topics, String topic) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", TestKafka.bootstrapServers());
    p.put("group.id", topics.prefix() + "it-dead-letter-reader");
    p.put("auto.offset.reset", "earliest");
    KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    c.subscribe(List.of(topic));
    return c;
  }

  static KafkaConsumer<byte[], byte[]> committedReader(Topics topics) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", TestKafka.bootstrapServers());
    p.put("group.id", topics.prefix() + "it-reader");
    p.put("auto.offset.reset", "earliest");
    p.put("isolation.level", "read_committed");
    KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    c.subscribe(List.of(topics.userPools().name()));
    return c;
  }
}
