package io.adaptrec.infra;

import io.adaptrec.schemas.Topic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Reads a whole topic back with the topic's own (our) deserializers, up to its end offsets at call time. */
final class TopicReader {
  private TopicReader() {}

  static <K, V> List<ConsumerRecord<K, V>> readAll(String bootstrap, Topic<K, V> topic, Duration timeout) {
    Map<String, Object> p = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    try (KafkaConsumer<K, V> c = new KafkaConsumer<>(p, topic.keySerde().deserializer(), topic.valueSerde().deserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int i = 0; i < topic.partitions(); i++) {
        parts.add(new TopicPartition(topic.name(), i));
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      List<ConsumerRecord<K, V>> out = new ArrayList<>();
      long deadline = System.nanoTime() + timeout.toNanos();
      while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("read only " + out.size() + " records of " + topic.name() + " within " + timeout);
        }
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }
}
