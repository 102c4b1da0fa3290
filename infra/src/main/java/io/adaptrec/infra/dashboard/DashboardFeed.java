package io.adaptrec.infra.dashboard;

import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dashboard's reader of the topics: one background consumer without a consumer group (every
 * partition assigned, from the beginning, {@code read_committed}, raw bytes decoded with each topic's
 * own value serde) of interactions, items, user-state, user-pools, rec-requests, rec-responses,
 * adapters, rollouts, rollout-decisions, experiment-metrics and dead-letter, applied to a
 * {@link DashboardState}. It never commits and leaves nothing behind on the cluster, so it works
 * against any deployment the same way.
 */
public final class DashboardFeed implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DashboardFeed.class);

  private final DashboardState state;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<TopicPartition, Long> endAtStart;
  private final LongSupplier clock;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean caughtUp;
  private volatile long behind;
  private volatile Throwable failure;

  /**
   * Assigns every partition of the dashboard's topics and starts reading.
   *
   * @param client {@code bootstrap.servers} and any security settings
   * @throws IllegalStateException naming a topic that does not exist
   */
  public DashboardFeed(Topics topics, Properties client) {
    this(topics, client, System::currentTimeMillis);
  }

  DashboardFeed(Topics topics, Properties client, LongSupplier clock) {
    this.state = new DashboardState(topics);
    this.clock = clock;
    Properties p = TopicScan.readerProperties(client);
    p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "adaptrec-dashboard");
    this.consumer = new KafkaConsumer<>(p);
    try {
      this.endAtStart = TopicScan.assignAllFromStart(consumer, state.topicNames(), Duration.ofSeconds(30));
    } catch (RuntimeException e) {
      consumer.close(Duration.ofSeconds(1));
      throw e;
    }
    this.behind = endAtStart.values().stream().mapToLong(Long::longValue).sum();
    this.thread = new Thread(this::run, "adaptrec-dashboard-feed");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    try {
      while (running) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          state.apply(r.topic(), r.key(), r.value(), r.timestamp(), clock.getAsLong());
        }
        if (!caughtUp) {
          long b = 0;
          for (Map.Entry<TopicPartition, Long> e : endAtStart.entrySet()) {
            b += Math.max(0, e.getValue() - consumer.position(e.getKey()));
          }
          behind = b;
          caughtUp = b == 0;
        }
      }
    } catch (WakeupException e) {
      // close() asked us to stop
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("dashboard feed stopped: {}", e.toString());
    }
  }

  /** Whether every record that existed when the feed started has been read. */
  public boolean caughtUp() {
    return caughtUp;
  }

  /** The feed's state as JSON-able maps; see {@link DashboardState#overview}. */
  Map<String, Object> overview(Optional<WorkerView> worker) {
    Map<String, Object> o = state.overview(clock.getAsLong(), worker);
    Map<String, Object> feed = new java.util.LinkedHashMap<>();
    feed.put("caughtUp", caughtUp);
    feed.put("behindAtStart", caughtUp ? 0 : behind);
    feed.put("failure", failure == null ? null : failure.toString());
    o.put("feed", feed);
    return o;
  }

  /** One user's lookup; see {@link DashboardState#user}. */
  Optional<Map<String, Object>> user(long id) {
    return state.user(id);
  }

  /** Why the feed stopped reading, or null while it reads. */
  public Throwable failure() {
    return failure;
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close(Duration.ofSeconds(2));
  }
}
