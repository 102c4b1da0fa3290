package io.adaptrec.flink;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.rocksdb.CompactionStyle;
import org.rocksdb.CompressionType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 1 of AdaptRec as a streaming job: keeps every user's Top-N similar-user pool up to date as
 * sequence embeddings change.
 *
 * <pre>
 *   source(user-state) -> UserStateValidator -> keyBy(user) UserRouter -> keyBy(cell) CellPoolFunction
 *                      |                   -> keyBy(user) PoolEmitter -> sink(user-pools)
 *                      +-> side output: dead letters -> dead-letter sink (optional)
 * </pre>
 *
 * The source and sinks are arguments: {@link #main} wires Kafka (exactly-once pools, at-least-once
 * dead letters), tests wire bounded sources and collecting sinks, and the local stack calls
 * {@link #build} on its own MiniCluster environment. Without a dead-letter sink
 * ({@link #withDeadLetterSink}) bad records are counted, logged and dropped.
 */
public final class SimilarUserPoolsJob {
    /** The job's name on the cluster (deployments recognise a running job by it). */
    public static final String JOB_NAME = "adaptrec-similar-user-pools";

  private static final Logger LOG = LoggerFactory.getLogger(SimilarUserPoolsJob.class);

  private final PoolsConfig config;
  private final Partitioner partitioner;
  private final Source<UserUpdate, ?, ?> source;
  private final Sink<PoolUpdate> sink;
  private Sink<DeadLetterRecord> deadLetterSink;
  private int sourceParallelism = -1;

  public SimilarUserPoolsJob(PoolsConfig config, Partitioner partitioner, Source<UserUpdate, ?, ?> source, Sink<PoolUpdate> sink) {
    this.config = config;
    this.partitioner = partitioner;
    this.source = source;
    this.sink = sink;
  }

  /** Where records that cannot be decoded or pooled go (Kafka: {@link KafkaIo#deadLetterSink}). */
  public SimilarUserPoolsJob withDeadLetterSink(Sink<DeadLetterRecord> sink) {
    this.deadLetterSink = sink;
    return this;
  }

  /**
   * Source parallelism, default the job's. Kafka keeps one user's records in one partition, so
   * any parallelism preserves per-user order; a source that cannot (a list split by index) needs 1.
   */
  public SimilarUserPoolsJob withSourceParallelism(int parallelism) {
    this.sourceParallelism = parallelism;
    return this;
  }

  /** Applies state backend, checkpointing and restart strategy from the config to {@code env}. */
  public static void configureEnvironment(StreamExecutionEnvironment env, PoolsConfig config) {
    Configuration conf = new Configuration();
    conf.set(StateBackendOptions.STATE_BACKEND, config.stateBackend());
    conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, config.checkpointDir());
    if (config.stateBackend().equals("rocksdb")) {
      conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
      rocksDb(conf, config);
    }
    if (config.restartAttempts() == 0) {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    } else {
      // A fault that lasts (a broker or the registry away for minutes) must not use up the attempts
      // in seconds: the delay doubles up to restart.max-delay-ms, and the count starts again after
      // an hour without failure.
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS, config.restartAttempts());
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
          Duration.ofMillis(Math.max(1, config.restartDelayMs())));
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
          Duration.ofMillis(Math.max(1, config.restartMaxDelayMs())));
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, 2.0);
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR, 0.1);
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD, Duration.ofHours(1));
    }
    // Every type on the wire is a record or primitive array; a Kryo fallback would be a bug.
    conf.set(PipelineOptions.GENERIC_TYPES, false);
    env.configure(conf);
    env.enableCheckpointing(config.checkpointIntervalMs(), CheckpointingMode.EXACTLY_ONCE);
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(config.maxParallelism());
  }

  /**
   * RocksDB's compression and compaction style from {@code rocksdb.*}, set on the job so they win
   * over a cluster's defaults; {@code default} leaves the cluster's (or Flink's) setting. Through
   * Kafka at 1M users the background compactions were about 28 % of the job's CPU, a third of it
   * snappy; no compression with universal compaction did not raise the update rate beyond the
   * run-to-run spread there, so both keys default to leaving the setting alone.
   */
  static void rocksDb(Configuration conf, PoolsConfig config) {
    CompressionType compression = switch (config.rocksdbCompression()) {
      case "default" -> null;
      case "none" -> CompressionType.NO_COMPRESSION;
      case "snappy" -> CompressionType.SNAPPY_COMPRESSION;
      case "lz4" -> CompressionType.LZ4_COMPRESSION;
      case "zstd" -> CompressionType.ZSTD_COMPRESSION;
      default -> throw new IllegalArgumentException("rocksdb.compression " + config.rocksdbCompression());
    };
    if (compression != null) {
      conf.set(RocksDBConfigurableOptions.COMPRESSION_PER_LEVEL, List.of(compression));
    }
    switch (config.rocksdbCompactionStyle()) {
      case "default" -> { }
      case "level" -> conf.set(RocksDBConfigurableOptions.COMPACTION_STYLE, CompactionStyle.LEVEL);
      case "universal" -> conf.set(RocksDBConfigurableOptions.COMPACTION_STYLE, CompactionStyle.UNIVERSAL);
      default -> throw new IllegalArgumentException("rocksdb.compaction-style " + config.rocksdbCompactionStyle());
    }
  }

  /** Adds the job to {@code env} (after {@link #configureEnvironment}); returns the pool stream. */
  public DataStream<PoolUpdate> build(StreamExecutionEnvironment env) {
    SingleOutputStreamOperator<UserUpdate> updates = env.fromSource(source, WatermarkStrategy.noWatermarks(), "user-state")
        .uid("user-state-source");
    if (sourceParallelism > 0) {
      updates.setParallelism(sourceParallelism);
    }
    SingleOutputStreamOperator<UserUpdate> valid = validate(updates, config);
    if (deadLetterSink != null) {
      valid.getSideOutput(UserStateValidator.DEAD_LETTERS)
          .sinkTo(deadLetterSink).name("dead-letter").uid("dead-letter-sink")
          .setParallelism(valid.getParallelism());
    }
    DataStream<PoolUpdate> pools = route(valid, config, partitioner);
    pools.sinkTo(sink).name("user-pools").uid("user-pools-sink");
    return pools;
  }

  /**
   * Drops records that cannot be pooled to the {@link UserStateValidator#DEAD_LETTERS} side output.
   * Runs at the parallelism of {@code updates}, forward-connected (chained), so one user's records
   * stay in order.
   */
  public static SingleOutputStreamOperator<UserUpdate> validate(DataStream<UserUpdate> updates, PoolsConfig config) {
    return updates
        .process(new UserStateValidator(config.minHistory(), config.embeddingDim()), updates.getType())
        .name("validate-user-state").uid("validate-user-state")
        .setParallelism(updates.getParallelism());
  }

  /** The pool-maintenance dataflow on any stream of updates (validated first; dead letters dropped). */
  public static DataStream<PoolUpdate> pools(DataStream<UserUpdate> updates, PoolsConfig config, Partitioner partitioner) {
    return route(validate(updates, config), config, partitioner);
  }

  private static DataStream<PoolUpdate> route(DataStream<UserUpdate> valid, PoolsConfig config, Partitioner partitioner) {
    LogLimiter rejectedLog = new LogLimiter(UserStateValidator.LOG_FIRST_N, UserStateValidator.LOG_INTERVAL_MS);
    SingleOutputStreamOperator<CellEvent> routed = valid
        .keyBy(UserUpdate::userId, Types.LONG)
        .process(new UserRouter(partitioner, config.minHistory(), config.embeddingDim()))
        .name("route-to-cells").uid("route-to-cells");
    // the validator catches what the router would reject; this stays as a (rate-limited) safety net
    routed.getSideOutput(UserRouter.REJECTED)
        .map(r -> {
          long suppressed = rejectedLog.tryAcquire(System.currentTimeMillis());
          if (suppressed >= 0) {
            LOG.warn("user-state of user {} not pooled: {} ({} similar lines suppressed)", r.userId(), r.reason(), suppressed);
          }
          return r;
        })
        .name("log-rejected").uid("log-rejected");
    return routed
        .keyBy(CellEvent::cell, Types.INT)
        .process(new CellPoolFunction(config.poolSize(), config.capacity(), config.excludedMembers(), config.emitOnMembersOnly()))
        .name("maintain-cell-pools").uid("maintain-cell-pools")
        .keyBy(PoolChange::userId, Types.LONG)
        .process(new PoolEmitter(config.similarityEpsilon(), config.debounceMs(), config.emitOnMembersOnly(),
            config.stateBackend().equals("rocksdb") ? config.emitCacheUsers() : 0)) // heap state is in memory already
        .name("emit-changed-pools").uid("emit-changed-pools");
  }

  public static void main(String[] args) throws Exception {
    PoolsConfig config = args.length > 0 ? PoolsConfig.load(Path.of(args[0])) : PoolsConfig.defaults();
    Partitioner partitioner = config.partitioner();
    LOG.info("similar-user pools: {} with {}, excluded members: {}", config.mode(), partitioner.describe(), config.excludeMembers());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    configureEnvironment(env, config);
    new SimilarUserPoolsJob(config, partitioner, KafkaIo.source(config), KafkaIo.sink(config))
        .withDeadLetterSink(KafkaIo.deadLetterSink(config))
        .build(env);
    env.execute(JOB_NAME);
  }
}
