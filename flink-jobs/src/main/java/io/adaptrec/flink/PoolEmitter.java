package io.adaptrec.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keyed by user id: the single place that decides what reaches the user-pools topic.
 * <ul>
 *   <li>drops changes older (smaller seq) than one already seen, which happens right after a
 *       user changes home and its old cell still reports on it;
 *   <li>emits only when the Top-N ids, the embedding version, or a similarity by more than
 *       {@code epsilon} changed (with {@code emit.on=members}: only when the set of ids or the
 *       version changed), and
 *       numbers emissions per user with a gap-free version;
 *   <li>with {@code debounceMs > 0}, holds the latest change in state and emits it from a
 *       processing-time timer, coalescing bursts (e.g. a popular neighbour moving repeatedly).
 * </ul>
 * Deletes are emitted at once (never debounced) so a removed user never lingers.
 */
public class PoolEmitter extends KeyedProcessFunction<Long, PoolChange, PoolUpdate> {
  private static final long serialVersionUID = 1L;

  /** What was last emitted for the user, plus the newest seq seen. */
  public record State(long seq, long version, String embeddingVersion, long[] ids, float[] sims, boolean live) {}

  private final float epsilon;
  private final long debounceMs;
  private final boolean membersOnly;

  private transient ValueState<State> state;
  private transient ValueState<PoolChange> pending;
  private transient Counter stale;
  private transient Counter suppressed;

  public PoolEmitter(float epsilon, long debounceMs) {
    this(epsilon, debounceMs, false);
  }

  /** @param membersOnly {@code emit.on=members}: emit only when the set of members (or the version) changed */
  public PoolEmitter(float epsilon, long debounceMs, boolean membersOnly) {
    this.epsilon = epsilon;
    this.debounceMs = debounceMs;
    this.membersOnly = membersOnly;
  }

  @Override
  public void open(OpenContext openContext) {
    state = getRuntimeContext().getState(new ValueStateDescriptor<>("emitted", State.class));
    pending = getRuntimeContext().getState(new ValueStateDescriptor<>("pending", PoolChange.class));
    stale = getRuntimeContext().getMetricGroup().counter("staleChanges");
    suppressed = getRuntimeContext().getMetricGroup().counter("unchangedPools");
  }

  @Override
  public void processElement(PoolChange change, Context ctx, Collector<PoolUpdate> out) throws Exception {
    State st = state.value();
    if (st == null) {
      st = new State(0, 0, "", new long[0], new float[0], false);
    }
    if (change.seq() < st.seq()) {
      stale.inc();
      return;
    }
    st = new State(change.seq(), st.version(), st.embeddingVersion(), st.ids(), st.sims(), st.live());
    if (debounceMs > 0 && !change.tombstone()) {
      if (pending.value() == null) {
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + debounceMs);
      }
      pending.update(change);
      state.update(st);
      return;
    }
    pending.clear();
    state.update(emitIfChanged(st, change, ctx.timerService().currentProcessingTime(), out));
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<PoolUpdate> out) throws Exception {
    PoolChange p = pending.value();
    pending.clear();
    State st = state.value();
    if (p != null && st != null && p.seq() >= st.seq()) {
      state.update(emitIfChanged(st, p, timestamp, out));
    }
  }

  private State emitIfChanged(State st, PoolChange c, long now, Collector<PoolUpdate> out) {
    if (c.tombstone()) {
      if (!st.live()) {
        return st;
      }
      long v = st.version() + 1;
      out.collect(new PoolUpdate(c.userId(), new long[0], new float[0], "", v, now, c.producedAt(), true));
      return new State(st.seq(), v, "", new long[0], new float[0], false);
    }
    if (st.live() && st.embeddingVersion().equals(c.embeddingVersion())
        && same(st.ids(), st.sims(), c.neighbourIds(), c.similarities())) {
      suppressed.inc();
      return st;
    }
    long v = st.version() + 1;
    out.collect(new PoolUpdate(c.userId(), c.neighbourIds(), c.similarities(), c.embeddingVersion(), v, now, c.producedAt(), false));
    return new State(st.seq(), v, c.embeddingVersion(), c.neighbourIds(), c.similarities(), true);
  }

  private boolean same(long[] ids, float[] sims, long[] newIds, float[] newSims) {
    if (ids.length != newIds.length) {
      return false;
    }
    if (membersOnly) {
      return CellIndex.sameMembers(ids, newIds);
    }
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] != newIds[i] || Math.abs(sims[i] - newSims[i]) > epsilon) {
        return false;
      }
    }
    return true;
  }
}
