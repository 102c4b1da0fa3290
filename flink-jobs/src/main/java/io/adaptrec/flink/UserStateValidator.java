package io.adaptrec.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First step after the source (chained to it, same parallelism, so per-user order is kept): sends
 * records that cannot be pooled to {@link #DEAD_LETTERS} with the reason, and passes the rest on
 * without their {@link UserUpdate.Origin} (raw bytes do not travel through the shuffles).
 *
 * <ul>
 *   <li>undecodable records (the Kafka decoder marks them) — dead letter, {@code deadLetters};
 *   <li>eligible records (not deleted, history ≥ {@code pool.min-history}) whose embedding has the
 *       wrong dimension, is all zeros or holds NaN/infinity — dead letter, {@code rejectedRecords};
 *   <li>eligible records with an empty embedding (no history item has a vector yet, which the
 *       streams module publishes legitimately) — skipped, counted as {@code missingEmbeddings},
 *       logged for the first few and then at most once a minute per subtask.
 * </ul>
 * Processing always continues.
 */
public class UserStateValidator extends ProcessFunction<UserUpdate, UserUpdate> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(UserStateValidator.class);

  public static final OutputTag<DeadLetterRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

  static final int LOG_FIRST_N = 5;
  static final long LOG_INTERVAL_MS = 60_000;

  private final int minHistory;
  private final int dim;

  // package-private: tests read the counts
  transient Counter deadLetters;
  transient Counter rejected;
  transient Counter missing;
  private transient LogLimiter missingLog;

  /** @param dim expected embedding dimension, or 0 to accept any */
  public UserStateValidator(int minHistory, int dim) {
    this.minHistory = minHistory;
    this.dim = dim;
  }

  @Override
  public void open(OpenContext openContext) {
    deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
    rejected = getRuntimeContext().getMetricGroup().counter("rejectedRecords");
    missing = getRuntimeContext().getMetricGroup().counter("missingEmbeddings");
    missingLog = new LogLimiter(LOG_FIRST_N, LOG_INTERVAL_MS);
  }

  @Override
  public void processElement(UserUpdate in, Context ctx, Collector<UserUpdate> out) {
    UserUpdate.Origin origin = in.origin();
    if (in.isUndecodable()) {
      deadLetter(ctx, origin, "cannot deserialize record: " + origin.error());
      return;
    }
    if (!in.deleted() && in.historyLength() >= minHistory) {
      String problem = UserRouter.problem(in.embedding(), dim);
      if (UserRouter.MISSING_EMBEDDING.equals(problem)) {
        missing.inc();
        long suppressed = missingLog.tryAcquire(System.currentTimeMillis());
        if (suppressed >= 0) {
          LOG.info("user-state of user {} not pooled yet: {} ({} such records so far in this subtask, {} not logged since the last line)",
              in.userId(), problem, missingLog.seen(), suppressed);
        }
        return;
      }
      if (problem != null) {
        rejected.inc();
        deadLetter(ctx, origin, "user " + in.userId() + " not pooled: " + problem);
        return;
      }
    }
    out.collect(origin == null ? in : in.withOrigin(null));
  }

  private void deadLetter(Context ctx, UserUpdate.Origin o, String error) {
    deadLetters.inc();
    String topic = o == null ? "" : o.topic();
    int partition = o == null ? -1 : o.partition();
    long offset = o == null ? -1L : o.offset();
    LOG.warn("dead letter: {}-{}@{}: {}", topic, partition, offset, error);
    ctx.output(DEAD_LETTERS, new DeadLetterRecord(topic, partition, offset, error, DeadLetterRecord.SOURCE + "/validate-user-state",
        o == null ? null : o.rawKey(), o == null ? null : o.rawValue(), System.currentTimeMillis()));
  }
}
