package io.adaptrec.schemas;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a whole topic once, as it is now: every partition from the beginning up to the end
 * offsets taken at the start, {@code read_committed}, no consumer group. For compacted tables a
 * role needs in full at start-up (which item embeddings exist, the catalogue's titles).
 */
public final class TopicScan {

  private TopicScan() {}

  /**
   * @param client {@code bootstrap.servers} and any security settings
   * @param each   called with every record (raw bytes), in partition order
   * @return records read; fewer than the topic holds only if {@code timeout} ran out first
   */
  public static long toEnd(Properties client, String topic, Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Properties c = new Properties();
    c.putAll(client);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long n = 0;
    long until = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> parts = consumer.partitionsFor(topic, timeout).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (System.nanoTime() < until && parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          each.accept(r);
          n++;
        }
      }
    }
    return n;
  }
}
