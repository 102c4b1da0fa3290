package io.adaptrec.infra;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Progress;
import java.io.PrintStream;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Publishes a loaded dataset: first the catalogue to {@code items} (key itemId), then the
 * interactions to {@code interactions} (key userId) in event-time order, optionally paced by
 * {@link Pacer}. The producer is idempotent with {@code acks=all}, so broker-side retries neither
 * lose nor duplicate records and each user's events keep their order (same key, same partition,
 * at most 5 in-flight requests, which idempotence keeps ordered).
 */
public final class Replayer {

  /** What a record's Kafka timestamp is. */
  public enum RecordTime {
    /**
     * The moment it is sent (default). Event time stays in the payload, where the roles read it;
     * wall-clock timestamps keep topic retention from deleting historical data on arrival and make
     * end-to-end latencies measurable from record timestamps.
     */
    NOW,
    /** The event's own time, for consumers that use Kafka timestamps as event time; the topic's retention.ms must cover the data's age. */
    EVENT
  }

  /**
   * @param speedup 0 = as fast as possible, else event-time gaps are divided by it
   * @param recordTime which time goes into the Kafka record timestamp
   * @param progress show a progress bar
   */
  /**
   * @param speedup event-time pacing (0: none)
   * @param rate    interactions per second at a constant pace, whatever their event times (0: none);
   *                with a rate, the speedup must be 0
   */
  public record Options(double speedup, RecordTime recordTime, boolean progress, double rate) {
    public Options {
      new Pacer(speedup, Pacer.SYSTEM); // validates the speedup with the CLI option's name
      if (recordTime == null) {
        throw new IllegalArgumentException("--record-time must be now or event");
      }
      if (rate < 0 || Double.isNaN(rate) || Double.isInfinite(rate) || rate > 0 && speedup > 0) {
        throw new IllegalArgumentException("--rate must be a positive number of interactions per second (or 0), "
            + "and not given with --speedup; got rate " + rate + ", speedup " + speedup);
      }
    }

    public Options(double speedup, RecordTime recordTime, boolean progress) {
      this(speedup, recordTime, progress, 0);
    }

    public static Options fastest() {
      return new Options(0, RecordTime.NOW, false);
    }

    /** Interactions at {@code perSecond}, constant, stamped with the send time. */
    public static Options atRate(double perSecond, boolean progress) {
      return new Options(0, RecordTime.NOW, progress, perSecond);
    }
  }

  /** What a replay did; every count is of records the broker acknowledged. */
  public record Summary(String dataset, long items, long interactions, long skipped, double seconds) {
    public double eventsPerSecond() {
      return seconds <= 0 ? 0 : (items + interactions) / seconds;
    }

    public String describe() {
      return String.format("replayed %s: %,d items, %,d interactions, %,d skipped input lines in %.1f s (%,.0f events/s)",
          dataset, items, interactions, skipped, seconds, eventsPerSecond());
    }
  }

  /** A replay that could not complete; the message names the record that failed. */
  public static final class ReplayException extends RuntimeException {
    ReplayException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Topics topics;
  private final Map<String, Object> producerConfig;
  private final Options options;
  private final PrintStream progressOut;

  /**
   * @param producerOverrides extra producer settings (security, client.id ...); they win over the defaults
   */
  public Replayer(Topics topics, String bootstrapServers, Map<String, Object> producerOverrides, Options options,
      PrintStream progressOut) {
    this.topics = topics;
    this.options = options;
    this.progressOut = progressOut;
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 10);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "adaptrec-replay");
    p.putAll(producerOverrides);
    this.producerConfig = p;
  }

  public Summary replay(Dataset dataset, long skippedInputLines) throws InterruptedException {
    long t0 = System.nanoTime();
    AtomicReference<String> failure = new AtomicReference<>();
    AtomicLong ackedItems = new AtomicLong();
    AtomicLong ackedInteractions = new AtomicLong();
    long catalogueTime = dataset.interactions().isEmpty() ? System.currentTimeMillis()
        : dataset.interactions().get(0).eventTimeMillis();
    String itemsTopic = topics.items().name();
    String interactionsTopic = topics.interactions().name();
    Serializer<Long> itemKeys = topics.items().keySerde().serializer();
    Serializer<Item> itemValues = topics.items().valueSerde().serializer();
    Serializer<Long> userKeys = topics.interactions().keySerde().serializer();
    Serializer<Interaction> interactionValues = topics.interactions().valueSerde().serializer();
    Pacer pacer = new Pacer(options.speedup(), Pacer.SYSTEM);
    long total = dataset.items().size() + (long) dataset.interactions().size();

    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer());
         Progress bar = Progress.start(options.progress(), "replay " + dataset.name(), total, "ev", progressOut)) {
      bar.message(" items");
      for (Dataset.Item it : dataset.items()) {
        checkFailure(failure);
        String what = "item " + it.itemId();
        Item value = new Item(it.itemId(), it.title(), it.genres(), Map.of("dataset", dataset.name()),
            Instant.ofEpochMilli(catalogueTime));
        long ts = options.recordTime() == RecordTime.EVENT ? catalogueTime : System.currentTimeMillis();
        send(producer, new ProducerRecord<>(itemsTopic, null, ts, serialize(itemKeys, itemsTopic, it.itemId(), what),
            serialize(itemValues, itemsTopic, value, what)), what, ackedItems, failure);
        bar.step(1);
      }
      // the catalogue is durable before the first interaction refers to it
      producer.flush();
      bar.message(" interactions");
      long n = 0;
      long rateStart = System.nanoTime();
      for (Dataset.Event e : dataset.interactions()) {
        checkFailure(failure);
        pacer.awaitDue(e.eventTimeMillis());
        if (options.rate() > 0) {   // the n-th interaction is due n / rate seconds after the first
          long wait = rateStart + (long) (n * 1e9 / options.rate()) - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
        }
        n++;
        String what = "interaction #" + n + " (user " + e.userId() + ", item " + e.itemId() + ", time " + e.eventTimeMillis() + ")";
        Interaction value = new Interaction(e.userId(), e.itemId(), Instant.ofEpochMilli(e.eventTimeMillis()),
            e.rating() == null ? InteractionKind.VIEW : InteractionKind.RATE, e.rating());
        long ts = options.recordTime() == RecordTime.EVENT ? e.eventTimeMillis() : System.currentTimeMillis();
        send(producer, new ProducerRecord<>(interactionsTopic, null, ts, serialize(userKeys, interactionsTopic, e.userId(), what),
            serialize(interactionValues, interactionsTopic, value, what)), what, ackedInteractions, failure);
        bar.step(1);
      }
      producer.flush();
      checkFailure(failure);
    }
    if (ackedItems.get() != dataset.items().size() || ackedInteractions.get() != dataset.interactions().size()) {
      // cannot happen with flush() and no callback error; checked because the summary promises it
      throw new ReplayException("broker acknowledged " + ackedItems + "/" + dataset.items().size() + " items and "
          + ackedInteractions + "/" + dataset.interactions().size() + " interactions", null);
    }
    return new Summary(dataset.name(), ackedItems.get(), ackedInteractions.get(), skippedInputLines,
        (System.nanoTime() - t0) / 1e9);
  }

  private static <T> byte[] serialize(Serializer<T> serializer, String topic, T value, String what) {
    try {
      return serializer.serialize(topic, value);
    } catch (RuntimeException e) {
      throw new ReplayException("cannot serialize " + what + " for " + topic + ": " + e.getMessage(), e);
    }
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> record, String what,
      AtomicLong acked, AtomicReference<String> failure) {
    Callback callback = (metadata, exception) -> {
      if (exception == null) {
        acked.incrementAndGet();
      } else {
        failure.compareAndSet(null, "Kafka did not accept " + what + " on " + record.topic() + ": " + exception);
      }
    };
    try {
      producer.send(record, callback);
    } catch (RuntimeException e) {
      // send() itself throws when metadata never arrives (broker unreachable) or the record is too large
      throw new ReplayException("cannot send " + what + " to " + record.topic() + ": " + e.getMessage(), e);
    }
  }

  private static void checkFailure(AtomicReference<String> failure) {
    String f = failure.get();
    if (f != null) {
      throw new ReplayException(f, null);
    }
  }
}
