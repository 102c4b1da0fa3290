package io.adaptrec.infra;

import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.flink.KafkaIo;
import io.adaptrec.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads what the pipeline produces (user-state and user-pools, committed records only, from the
 * beginning) on a background thread and keeps the latest value per user plus end-to-end latencies:
 * user-state records carry the timestamp of the interaction that caused them (the replay's send
 * time), and pools carry the time their source user-state change was produced in a header.
 */
final class PipelineWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineWatcher.class);

  /** A consistent copy of what was seen so far. */
  record Snapshot(long stateRecords, Map<Long, UserState> states, long poolRecords, Map<Long, SimilarUserPool> pools,
      long[] stateLatenciesMs, long[] poolLatenciesMs, long nanosSinceLastState, long nanosSinceLastPool) {}

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Deserializer<Long> stateKeys;
  private final Deserializer<UserState> stateValues;
  private final Deserializer<SimilarUserPool> poolValues;
  private final String stateTopic;
  private final String poolTopic;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile RuntimeException failure;

  private long stateRecords;
  private long poolRecords;
  private final Map<Long, UserState> states = new HashMap<>();
  private final Map<Long, SimilarUserPool> pools = new HashMap<>();
  private final List<Long> stateLatencies = new ArrayList<>();
  private final List<Long> poolLatencies = new ArrayList<>();
  private long lastStateNanos = System.nanoTime();
  private long lastPoolNanos = System.nanoTime();

  /** @param client bootstrap.servers and any security settings */
  PipelineWatcher(Properties client, Topics topics) {
    this.stateTopic = topics.userState().name();
    this.poolTopic = topics.userPools().name();
    this.stateKeys = topics.userState().keySerde().deserializer();
    this.stateValues = topics.userState().valueSerde().deserializer();
    this.poolValues = topics.userPools().valueSerde().deserializer();
    Map<String, Object> p = new HashMap<>();
    client.forEach((k, v) -> p.put(k.toString(), v));
    // both producers are transactional (Streams exactly-once, Flink's exactly-once sink)
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "adaptrec-demo-watcher");
    consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    // assigned, not subscribed: no consumer group, so no rebalance delay and nothing left behind
    List<TopicPartition> parts = new ArrayList<>();
    for (int i = 0; i < topics.userState().partitions(); i++) {
      parts.add(new TopicPartition(stateTopic, i));
    }
    for (int i = 0; i < topics.userPools().partitions(); i++) {
      parts.add(new TopicPartition(poolTopic, i));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    thread = new Thread(this::run, "adaptrec-demo-watcher");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    try {
      while (running) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          long now = System.currentTimeMillis();
          Long user = stateKeys.deserialize(r.topic(), r.key());
          synchronized (this) {
            if (r.topic().equals(stateTopic)) {
              stateRecords++;
              lastStateNanos = System.nanoTime();
              stateLatencies.add(now - r.timestamp());
              if (r.value() == null) {
                states.remove(user);
              } else {
                states.put(user, stateValues.deserialize(r.topic(), r.value()));
              }
            } else {
              poolRecords++;
              lastPoolNanos = System.nanoTime();
              Header produced = r.headers().lastHeader(KafkaIo.HEADER_SOURCE_PRODUCED_AT);
              if (produced != null) {
                poolLatencies.add(now - Long.parseLong(new String(produced.value(), StandardCharsets.UTF_8)));
              }
              if (r.value() == null) {
                pools.remove(user);
              } else {
                pools.put(user, poolValues.deserialize(r.topic(), r.value()));
              }
            }
          }
        }
      }
    } catch (org.apache.kafka.common.errors.WakeupException e) {
      // close() asked us to stop
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("demo watcher stopped: {}", e.toString());
    }
  }

  /** Forgets the latencies seen so far (the demo measures its live phase, not the bootstrap backlog). */
  synchronized void resetLatencies() {
    stateLatencies.clear();
    poolLatencies.clear();
  }

  synchronized Snapshot snapshot() {
    if (failure != null) {
      throw new IllegalStateException("reading the pipeline's output failed: " + failure.getMessage(), failure);
    }
    long now = System.nanoTime();
    return new Snapshot(stateRecords, Map.copyOf(states), poolRecords, Map.copyOf(pools),
        sorted(stateLatencies), sorted(poolLatencies), now - lastStateNanos, now - lastPoolNanos);
  }

  private static long[] sorted(List<Long> values) {
    long[] a = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(a);
    return a;
  }

  /** The p-quantile (0..1) of sorted values, nearest rank; -1 when empty. */
  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return -1;
    }
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(10_000);
    consumer.close(Duration.ofSeconds(5));
  }
}
