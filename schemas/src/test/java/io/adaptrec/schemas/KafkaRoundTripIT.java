package io.adaptrec.schemas;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.Interaction;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** Produce and consume through a real broker (TestKafka) and the embedded registry with our serde. */
class KafkaRoundTripIT {

  @Test
  void interactionsRoundTripThroughTheBroker() throws Exception {
    Topics topics = TestRegistry.freshTopics();
    TestKafka.createTopics(topics.all());
    Topic<Long, Interaction> t = topics.interactions();
    List<Interaction> sent = List.of(
        Fixtures.interaction(1, 10, T0), Fixtures.rating(2, 11, T0.plusSeconds(1), 3f),
        Fixtures.interaction(1, 12, T0.plusSeconds(2)));
    try (KafkaProducer<Long, Interaction> producer = new KafkaProducer<>(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()),
        t.keySerde().serializer(), t.valueSerde().serializer())) {
      for (Interaction i : sent) {
        producer.send(new ProducerRecord<>(t.name(), i.getUserId(), i)).get();
      }
    }

    List<Interaction> received = new ArrayList<>();
    List<byte[]> rawValues = new ArrayList<>();
    Map<String, Object> consumerConfig = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "it-" + t.name(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(t.name()));
      long deadline = System.currentTimeMillis() + 30_000;
      while (received.size() < sent.size() && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          rawValues.add(r.value());
          received.add(t.valueSerde().deserializer().deserialize(r.topic(), r.value()));
          assertThat(t.keySerde().deserializer().deserialize(r.topic(), r.key()))
              .isEqualTo(received.get(received.size() - 1).getUserId());
        }
      }
    }
    assertThat(received).containsExactlyInAnyOrderElementsOf(sent);
    int id = topics.registry().latest(t.valueSubject()).id();
    assertThat(rawValues).allSatisfy(raw -> {
      assertThat(raw[0]).isZero();
      assertThat(WireFormat.schemaId(raw, "it")).isEqualTo(id);
    });
  }

  @Test
  void topicCreationIsIdempotentAndFixesTheCleanupPolicy() throws Exception {
    Topics topics = TestRegistry.freshTopics();
    try (Admin admin = TestKafka.admin()) {
      // someone created user-state as a plain (delete) topic before us
      admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topics.userState().name(), 2, (short) 1)))
          .all().get();

      TopicAdmin.Report first = TopicAdmin.ensureTopics(admin, topics.all(), (short) 1, Duration.ofSeconds(30));
      assertThat(first.created()).hasSize(topics.all().size() - 1).doesNotContain(topics.userState().name());
      assertThat(first.reconfigured()).containsExactly(topics.userState().name());
      assertThat(first.fewerPartitions()).containsExactly(topics.userState().name());

      TopicAdmin.Report second = TopicAdmin.ensureTopics(admin, topics.all(), (short) 1, Duration.ofSeconds(30));
      assertThat(second.created()).isEmpty();
      assertThat(second.reconfigured()).isEmpty();
      assertThat(second.unchanged()).hasSize(topics.all().size());

      var configs = admin.describeConfigs(List.of(
          new ConfigResource(ConfigResource.Type.TOPIC, topics.userState().name()),
          new ConfigResource(ConfigResource.Type.TOPIC, topics.interactions().name()))).all().get();
      assertThat(configs.values().stream().map(c -> c.get("cleanup.policy").value()))
          .containsExactlyInAnyOrder("compact", "delete");
      Map<String, TopicDescription> d = admin.describeTopics(Set.of(topics.interactions().name()))
          .allTopicNames().get();
      assertThat(d.get(topics.interactions().name()).partitions()).hasSize(topics.interactions().partitions());
    }
  }
}
