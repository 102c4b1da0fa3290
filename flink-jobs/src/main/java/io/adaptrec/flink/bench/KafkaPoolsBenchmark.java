package io.adaptrec.flink.bench;

import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.flink.KafkaIo;
import io.adaptrec.flink.Partitioner;
import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.flink.SimilarUserPoolsJob;
import io.adaptrec.flink.UserUpdate;
import io.adaptrec.schemas.EmbeddedKafkaBroker;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.TopicAdmin;
import io.adaptrec.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * The pools benchmark through Kafka ({@code "path":"kafka"}): the production job exactly as
 * {@link SimilarUserPoolsJob#main} wires it (Kafka source of Avro {@code user-state} in the
 * Confluent wire format, exactly-once {@code user-pools} sink, dead-letter sink) on a local
 * MiniCluster, against a broker and registry (embedded in this JVM unless given).
 *
 * <ol>
 *   <li><b>Backlog</b>: every user's first state (load) and then {@code updates} embedding changes
 *       are produced to {@code user-state} before the job starts. The job then reads them as fast
 *       as it can; its progress is the consumer-group offset its source commits with each
 *       checkpoint. Update throughput = updates / (time the committed offsets pass the last update
 *       − time they pass the last load record): the job's own rate, with the broker on the same
 *       cores but without the producer's cost (in production the streams role produces).
 *   <li><b>Paced</b>: {@code pacedUpdates} further changes at {@code rate}/s (0 = 70 % of the
 *       backlog rate just measured) while the job runs; every committed pool record is read back
 *       ({@code read_committed}) and its freshness taken from its {@code adaptrec.source-produced-at}
 *       header (the user-state record's timestamp = when it was sent) to when it was read.
 * </ol>
 * Recall@10 compares the final pools read back for the sampled users with brute force over the
 * final embeddings.
 */
final class KafkaPoolsBenchmark {
  private static final String EMBEDDING_VERSION = "synthetic-v1";

  private KafkaPoolsBenchmark() {}

  static Map<String, Object> run(PoolsBenchmark.Options o) throws Exception {
    List<AutoCloseable> toClose = new ArrayList<>();
    try {
      String bootstrap = o.bootstrap();
      if (bootstrap == null) {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        toClose.add(0, broker);
        bootstrap = broker.bootstrapServers();
      }
      String registry = o.registry();
      if (registry == null) {
        EmbeddedSchemaRegistry r = EmbeddedSchemaRegistry.start(0);
        toClose.add(0, r);
        registry = r.url();
      }
      String run = "bench" + System.currentTimeMillis() % 100_000_000 + ".";
      Map<String, String> conf = new LinkedHashMap<>();
      conf.put("kafka.bootstrap-servers", bootstrap);
      conf.put("schema.registry.url", registry);
      conf.put("topic.prefix", run + Topics.DEFAULT_PREFIX);
      conf.put("kafka.group-id", run + "pools");
      conf.put("kafka.transactional-id-prefix", run + "pools");
      conf.put("kafka.starting-offsets", "earliest");
      conf.put("checkpoint.interval-ms", Long.toString(o.checkpointMs()));
      long t0 = System.nanoTime();
      PoolsConfig config = PoolsBenchmark.config(o, conf);
      double trainSeconds = (System.nanoTime() - t0) / 1e9;
      Partitioner partitioner = config.partitioner();
      Topics topics = KafkaIo.topics(config);
      String userState = topics.userState().name();
      String userPools = topics.userPools().name();
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        TopicAdmin.ensureTopics(admin, List.of(topics.userState().withPartitions(o.parallelism()),
            topics.userPools().withPartitions(o.parallelism()), topics.deadLetter()), (short) 1, Duration.ofSeconds(30));
      }

      SyntheticUsers gen = new SyntheticUsers(o.users(), o.dim(), o.seed());
      Map<String, Object> producerProps = new HashMap<>();
      producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      producerProps.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
      producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
      KafkaProducer<Long, UserState> producer = new KafkaProducer<>(producerProps,
          topics.userState().keySerde().serializer(), topics.userState().valueSerde().serializer());
      toClose.add(0, producer);

      // 1. the backlog: load, then updates, all in the topic before the job starts
      long sendStart = System.nanoTime();
      produce(producer, userState, gen, o.users(), 0, "load");
      Map<TopicPartition, Long> loadEnd = endOffsets(bootstrap, userState, o.parallelism());
      produce(producer, userState, gen, o.updates(), 0, "updates");
      Map<TopicPartition, Long> updatesEnd = endOffsets(bootstrap, userState, o.parallelism());
      double sendSeconds = (System.nanoTime() - sendStart) / 1e9;
      System.out.printf(Locale.ROOT, "backlog of %,d user-state records produced in %.1f s; starting the job%n",
          o.users() + o.updates(), sendSeconds);

      Set<Long> sample = PoolsBenchmark.sample(o);
      PoolReader reader = new PoolReader(bootstrap, userPools, o.parallelism(), sample, topics);
      toClose.add(0, reader);
      reader.start();

      StreamExecutionEnvironment env = PoolsBenchmark.localEnvironment(o);
      SimilarUserPoolsJob.configureEnvironment(env, config);
      new SimilarUserPoolsJob(config, partitioner, KafkaIo.source(config), KafkaIo.sink(config))
          .withDeadLetterSink(KafkaIo.deadLetterSink(config))
          .build(env);
      JobClient job = env.executeAsync("pools-benchmark-kafka");
      toClose.add(0, () -> job.cancel().get(60, TimeUnit.SECONDS));
      long jobStart = System.currentTimeMillis();

      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        Progress progress = new Progress(admin, config.groupId(), job);
        long loaded = progress.awaitCommitted(loadEnd, "load", reader::read);
        long updated = progress.awaitCommitted(updatesEnd, "updates", reader::read);
        double loadSeconds = (loaded - jobStart) / 1000.0;
        double updateSeconds = (updated - loaded) / 1000.0;
        double backlogRate = o.updates() / Math.max(1e-3, updateSeconds);
        System.out.printf(Locale.ROOT, "backlog: load %,.0f users/s, updates %,.0f/s (checkpoint every %d ms)%n",
            o.users() / Math.max(1e-3, loadSeconds), backlogRate, o.checkpointMs());

        // 2. paced updates while the job runs: freshness
        double rate = o.rate() > 0 ? o.rate() : Math.max(1, Math.floor(0.7 * backlogRate / 100) * 100);
        long pacedStart = System.currentTimeMillis();
        reader.measureFrom(pacedStart);
        produce(producer, userState, gen, o.pacedUpdates(), rate, "paced");
        double pacedSeconds = (System.currentTimeMillis() - pacedStart) / 1000.0;
        Map<TopicPartition, Long> pacedEnd = endOffsets(bootstrap, userState, o.parallelism());
        progress.awaitCommitted(pacedEnd, "paced", reader::read);
        reader.awaitCaughtUp(Duration.ofSeconds(120), 2 * o.checkpointMs());

        long records = o.users() + o.updates() + o.pacedUpdates();
        System.out.printf(Locale.ROOT, "computing recall@10 for %d users by brute force...%n", sample.size());
        double recall = PoolsBenchmark.recallAt10(o, records, sample, reader.sampledPools);

        Map<String, Object> report = PoolsBenchmark.header(o, partitioner, "kafka");
        report.put("broker", o.bootstrap() == null ? "embedded (same JVM)" : bootstrap);
        report.put("checkpoint_interval_ms", o.checkpointMs());
        report.put("exactly_once", true);
        report.put("recall@10", recall);
        report.put("recall_sample", sample.size());
        report.put("recall_sample_with_pool", sample.stream().filter(reader.sampledPools::containsKey).count());
        report.put("updates_per_sec", backlogRate);
        report.put("load_users_per_sec", o.users() / Math.max(1e-3, loadSeconds));
        report.put("paced_updates", o.pacedUpdates());
        report.put("paced_target_rate", rate);
        report.put("paced_achieved_rate", o.pacedUpdates() / Math.max(1e-3, pacedSeconds));
        report.put("p50_freshness_ms", reader.freshness.percentile(0.5));
        report.put("p99_freshness_ms", reader.freshness.percentile(0.99));
        report.put("max_freshness_ms", reader.freshness.percentile(1.0));
        report.put("freshness_measured", reader.freshness.count());
        report.put("pools_read", reader.read.get());
        report.put("pool_records_per_update", reader.read.get() / (double) records);
        report.put("backlog_produce_seconds", sendSeconds);
        report.put("train_seconds", trainSeconds);
        report.put("job_seconds", (System.currentTimeMillis() - jobStart) / 1000.0);
        report.put("cores", Runtime.getRuntime().availableProcessors());
        report.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
        return report;
      }
    } finally {
      for (AutoCloseable c : toClose) {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("closing " + c + ": " + e);
        }
      }
    }
  }

  /** Sends {@code n} records of the generator to user-state, at {@code rate}/s (0 = as fast as the producer goes). */
  private static void produce(KafkaProducer<Long, UserState> producer, String topic, SyntheticUsers gen, long n,
      double rate, String phase) {
    long start = System.nanoTime();
    long lastReport = start;
    for (long i = 0; i < n; i++) {
      if (rate > 0) {
        long wait = start + (long) (i * 1e9 / rate) - System.nanoTime();
        if (wait > 0) {
          try {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while producing", e);
          }
        }
      }
      long now = System.currentTimeMillis();
      UserUpdate u = gen.next(now);
      producer.send(new ProducerRecord<>(topic, null, now, u.userId(), userState(gen, u, now)));
      if (System.nanoTime() - lastReport > 5_000_000_000L) {
        lastReport = System.nanoTime();
        System.out.printf(Locale.ROOT, "  producing %s: %,d/%,d%n", phase, i + 1, n);
      }
    }
    producer.flush();
  }

  private static UserState userState(SyntheticUsers gen, UserUpdate u, long now) {
    int[] window = gen.window((int) u.userId());
    List<HistoryEntry> history = new ArrayList<>(window.length);
    for (int item : window) {
      history.add(new HistoryEntry((long) item, Instant.ofEpochMilli(now), null));
    }
    List<Float> embedding = new ArrayList<>(u.embedding().length);
    for (float x : u.embedding()) {
      embedding.add(x);
    }
    return new UserState(u.userId(), history, embedding, EMBEDDING_VERSION, Instant.ofEpochMilli(now));
  }

  private static Map<TopicPartition, Long> endOffsets(String bootstrap, String topic, int partitions) {
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        parts.add(new TopicPartition(topic, p));
      }
      return c.endOffsets(parts);
    }
  }

  /** The job's progress: the offsets its Kafka source commits to the consumer group with each checkpoint. */
  private record Progress(Admin admin, String groupId, JobClient job) {
    long awaitCommitted(Map<TopicPartition, Long> target, String phase, LongSupplier poolsRead) throws Exception {
      long total = target.values().stream().mapToLong(Long::longValue).sum();
      long lastReport = System.nanoTime();
      long lastDone = 0;
      while (true) {
        if (job.getJobStatus().get().isGloballyTerminalState()) {
          throw new IllegalStateException("the pools job stopped: " + job.getJobStatus().get()
              + " (see its log above)");
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        long done = 0;
        boolean all = true;
        for (Map.Entry<TopicPartition, Long> t : target.entrySet()) {
          OffsetAndMetadata m = committed.get(t.getKey());
          long at = m == null ? 0 : m.offset();
          done += Math.min(at, t.getValue());
          all &= at >= t.getValue();
        }
        if (all) {
          return System.currentTimeMillis();
        }
        if (System.nanoTime() - lastReport > 5_000_000_000L) {
          double secs = (System.nanoTime() - lastReport) / 1e9;
          lastReport = System.nanoTime();
          System.out.printf(Locale.ROOT, "  job %s: %,d/%,d records committed (%,.0f/s), pools read %,d%n",
              phase, done, total, (done - lastDone) / secs, poolsRead.getAsLong());
          lastDone = done;
        }
        Thread.sleep(100);
      }
    }
  }

  /**
   * Reads user-pools {@code read_committed} from the beginning: counts records, keeps the latest
   * pool of the sampled users, and buckets the freshness of records caused by changes sent after
   * {@link #measureFrom}.
   */
  private static final class PoolReader implements AutoCloseable {
    final AtomicLong read = new AtomicLong();
    final FreshnessHistogram freshness = new FreshnessHistogram();
    final Map<Long, long[]> sampledPools = new ConcurrentHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<TopicPartition> parts = new ArrayList<>();
    private final Set<Long> sample;
    private final Deserializer<Long> keys;
    private final Deserializer<SimilarUserPool> values;
    private final String topic;
    private volatile long from = Long.MAX_VALUE;
    private volatile long lastRecordAt = System.currentTimeMillis();
    private volatile boolean stopped;
    private final Thread thread = new Thread(this::run, "bench-pool-reader");

    PoolReader(String bootstrap, String topic, int partitions, Set<Long> sample, Topics topics) {
      this.topic = topic;
      this.sample = sample;
      this.keys = topics.userPools().keySerde().deserializer();
      this.values = topics.userPools().valueSerde().deserializer();
      Map<String, Object> p = new HashMap<>();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      for (int i = 0; i < partitions; i++) {
        parts.add(new TopicPartition(topic, i));
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
    }

    void start() {
      thread.setDaemon(true);
      thread.start();
    }

    void measureFrom(long sentAtOrAfter) {
      from = sentAtOrAfter;
    }

    long read() {
      return read.get();
    }

    private void run() {
      try {
        while (!stopped) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            long now = System.currentTimeMillis();
            read.incrementAndGet();
            lastRecordAt = now;
            Header h = r.headers().lastHeader(KafkaIo.HEADER_SOURCE_PRODUCED_AT);
            long producedAt = h == null ? -1 : Long.parseLong(new String(h.value(), StandardCharsets.UTF_8));
            if (producedAt >= from) {
              freshness.record(now - producedAt);
            }
            Long user = keys.deserialize(topic, r.key());
            if (user != null && sample.contains(user)) {
              SimilarUserPool pool = r.value() == null ? null : values.deserialize(topic, r.value());
              sampledPools.put(user, pool == null ? new long[0]
                  : pool.getNeighbours().stream().mapToLong(Neighbour::getUserId).toArray());
            }
          }
        }
      } catch (WakeupException e) {
        // closing
      } finally {
        consumer.close(Duration.ofSeconds(5)); // the consumer belongs to this thread
      }
    }

    /** Waits until nothing new arrived for {@code quietMs} (at least one more checkpoint's transaction). */
    void awaitCaughtUp(Duration timeout, long quietMs) throws InterruptedException {
      long deadline = System.currentTimeMillis() + timeout.toMillis();
      while (System.currentTimeMillis() < deadline) {
        if (System.currentTimeMillis() - lastRecordAt > quietMs) {
          return;
        }
        Thread.sleep(100);
      }
      System.out.println("  pool reader: still receiving after " + timeout.toSeconds() + " s; recall uses what arrived");
    }

    @Override
    public void close() {
      stopped = true;
      consumer.wakeup();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
