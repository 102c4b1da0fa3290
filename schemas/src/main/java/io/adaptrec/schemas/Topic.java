package io.adaptrec.schemas;

import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serde;

/**
 * One topic: its full name, the serdes of its key and value, and how it is created. Immutable;
 * obtain instances from {@link Topics}.
 *
 * @param name full topic name, prefix included (e.g. {@code adaptrec.interactions})
 * @param keySerde serde of the record key (registered under {@code <name>-key})
 * @param valueSerde serde of the record value (registered under {@code <name>-value})
 * @param cleanupPolicy COMPACT for latest-value-per-key tables, DELETE for event streams
 * @param partitions partitions to create the topic with
 */
public record Topic<K, V>(
    String name, Serde<K> keySerde, Serde<V> valueSerde, CleanupPolicy cleanupPolicy, int partitions) {

  /** Kafka's {@code cleanup.policy}. */
  public enum CleanupPolicy {
    COMPACT(TopicConfig.CLEANUP_POLICY_COMPACT),
    DELETE(TopicConfig.CLEANUP_POLICY_DELETE);

    private final String configValue;

    CleanupPolicy(String configValue) {
      this.configValue = configValue;
    }

    /** The value of the {@code cleanup.policy} topic config. */
    public String configValue() {
      return configValue;
    }
  }

  public Topic {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(keySerde, "keySerde");
    Objects.requireNonNull(valueSerde, "valueSerde");
    Objects.requireNonNull(cleanupPolicy, "cleanupPolicy");
    if (name.isBlank() || !name.matches("[a-zA-Z0-9._-]{1,249}")) {
      throw new IllegalArgumentException("Invalid topic name '" + name
          + "': Kafka allows 1-249 characters of [a-zA-Z0-9._-]");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("Topic " + name + ": partitions must be >= 1, got " + partitions);
    }
  }

  public boolean compacted() {
    return cleanupPolicy == CleanupPolicy.COMPACT;
  }

  public String keySubject() {
    return name + "-key";
  }

  public String valueSubject() {
    return name + "-value";
  }

  /** A copy with another partition count (e.g. to scale a deployment). */
  public Topic<K, V> withPartitions(int newPartitions) {
    return new Topic<>(name, keySerde, valueSerde, cleanupPolicy, newPartitions);
  }

  /** The admin request creating this topic. */
  public NewTopic newTopic(short replicationFactor) {
    return new NewTopic(name, partitions, replicationFactor)
        .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, cleanupPolicy.configValue()));
  }

  @Override
  public String toString() {
    return "Topic[" + name + ", " + partitions + " partitions, " + cleanupPolicy.configValue() + "]";
  }
}
