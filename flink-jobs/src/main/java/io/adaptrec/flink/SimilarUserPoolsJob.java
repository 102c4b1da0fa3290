package io.adaptrec.flink;

import java.nio.file.Path;
import java.time.Duration;
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
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 1 of AdaptRec as a streaming job: keeps every user's Top-N similar-user pool up to date as
 * sequence embeddings change.
 *
 * <pre>
 *   source(user-state) -> keyBy(user) UserRouter -> keyBy(cell) CellPoolFunction
 *                      -> keyBy(user) PoolEmitter -> sink(user-pools)
 * </pre>
 *
 * The source and sink are arguments: {@link #main} wires Kafka (exactly-once), tests wire bounded
 * sources and collecting sinks, and the local stack calls {@link #build} on its own MiniCluster
 * environment.
 */
public final class SimilarUserPoolsJob {
  private static final Logger LOG = LoggerFactory.getLogger(SimilarUserPoolsJob.class);

  private final PoolsConfig config;
  private final Partitioner partitioner;
  private final Source<UserUpdate, ?, ?> source;
  private final Sink<PoolUpdate> sink;
  private int sourceParallelism = -1;

  public SimilarUserPoolsJob(PoolsConfig config, Partitioner partitioner, Source<UserUpdate, ?, ?> source, Sink<PoolUpdate> sink) {
    this.config = config;
    this.partitioner = partitioner;
    this.source = source;
    this.sink = sink;
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
    }
    if (config.restartAttempts() == 0) {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    } else {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, config.restartAttempts());
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(config.restartDelayMs()));
    }
    // Every type on the wire is a record or primitive array; a Kryo fallback would be a bug.
    conf.set(PipelineOptions.GENERIC_TYPES, false);
    env.configure(conf);
    env.enableCheckpointing(config.checkpointIntervalMs(), CheckpointingMode.EXACTLY_ONCE);
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(config.maxParallelism());
  }

  /** Adds the job to {@code env} (after {@link #configureEnvironment}); returns the pool stream. */
  public DataStream<PoolUpdate> build(StreamExecutionEnvironment env) {
    SingleOutputStreamOperator<UserUpdate> updates = env.fromSource(source, WatermarkStrategy.noWatermarks(), "user-state")
        .uid("user-state-source");
    if (sourceParallelism > 0) {
      updates.setParallelism(sourceParallelism);
    }
    DataStream<PoolUpdate> pools = pools(updates, config, partitioner);
    pools.sinkTo(sink).name("user-pools").uid("user-pools-sink");
    return pools;
  }

  /** The pool-maintenance dataflow on any stream of updates. */
  public static DataStream<PoolUpdate> pools(DataStream<UserUpdate> updates, PoolsConfig config, Partitioner partitioner) {
    SingleOutputStreamOperator<CellEvent> routed = updates
        .keyBy(UserUpdate::userId, Types.LONG)
        .process(new UserRouter(partitioner, config.minHistory(), config.embeddingDim()))
        .name("route-to-cells").uid("route-to-cells");
    routed.getSideOutput(UserRouter.REJECTED)
        .map(r -> {
          LOG.warn("user-state of user {} not pooled: {}", r.userId(), r.reason());
          return r;
        })
        .name("log-rejected").uid("log-rejected");
    return routed
        .keyBy(CellEvent::cell, Types.INT)
        .process(new CellPoolFunction(config.poolSize(), config.capacity()))
        .name("maintain-cell-pools").uid("maintain-cell-pools")
        .keyBy(PoolChange::userId, Types.LONG)
        .process(new PoolEmitter(config.similarityEpsilon(), config.debounceMs()))
        .name("emit-changed-pools").uid("emit-changed-pools");
  }

  public static void main(String[] args) throws Exception {
    PoolsConfig config = args.length > 0 ? PoolsConfig.load(Path.of(args[0])) : PoolsConfig.defaults();
    Partitioner partitioner = config.partitioner();
    LOG.info("similar-user pools: {} with {}", config.mode(), partitioner.describe());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    configureEnvironment(env, config);
    new SimilarUserPoolsJob(config, partitioner, KafkaIo.source(config), KafkaIo.sink(config)).build(env);
    env.execute("adaptrec-similar-user-pools");
  }
}
