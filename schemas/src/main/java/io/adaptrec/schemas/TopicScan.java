package io.adaptrec.schemas;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
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
   * @param each   called with every record (raw bytes), in partition order; when it throws a {@link
   *               RegistryUnavailableException} the scan waits and reads that record again ({@link RegistryBackoff})
   * @return records read; fewer than the topic holds only if {@code timeout} ran out first
   */
  public static long toEnd(Properties client, String topic, Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    long n = 0;
    long until = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(readerProperties(client))) {
      Map<TopicPartition, Long> end = assignAllFromStart(consumer, List.of(topic), timeout);
      List<TopicPartition> parts = List.copyOf(end.keySet());
      RegistryBackoff backoff = RegistryBackoff.standard("scan of " + topic);
      while (System.nanoTime() < until && parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
        if (backoff.applyAll(consumer, batch, each)) {
          n += batch.count();
        }
      }
    }
    return n;
  }

  /**
   * Settings of a reader of whole topics (every role's local mirror, scans): {@code client} plus raw
   * bytes, no group and no auto-commit, {@code read_committed}, from the beginning.
   */
  public static Properties readerProperties(Properties client) {
    Properties c = new Properties();
    c.putAll(client);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return c;
  }

  /**
   * Assigns every partition of {@code topics} to {@code consumer}, seeks to the beginning and
   * returns the end offsets as of now (what "caught up" means).
   *
   * @throws IllegalStateException naming a topic that does not exist
   */
  public static Map<TopicPartition, Long> assignAllFromStart(KafkaConsumer<?, ?> consumer, List<String> topics,
      Duration timeout) {
    List<TopicPartition> parts = new java.util.ArrayList<>();
    for (String t : topics) {
      List<org.apache.kafka.common.PartitionInfo> infos = consumer.partitionsFor(t, timeout);
      if (infos == null || infos.isEmpty()) {
        throw new IllegalStateException("topic " + t + " does not exist (create the topics first)");
      }
      infos.forEach(i -> parts.add(new TopicPartition(t, i.partition())));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return consumer.endOffsets(parts);
  }
}
