package io.adaptrec.flink;

import java.util.LinkedHashMap;
import java.util.Map;
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
  private final int cacheUsers;

  private transient ValueState<State> state;
  private transient LinkedHashMap<Long, State> cache;
  private transient ValueState<PoolChange> pending;
  private transient Counter stale;
  private transient Counter suppressed;

  public PoolEmitter(float epsilon, long debounceMs) {
    this(epsilon, debounceMs, false);
  }

  /** @param membersOnly {@code emit.on=members}: emit only when the set of members (or the version) changed */
  public PoolEmitter(float epsilon, long debounceMs, boolean membersOnly) {
    this(epsilon, debounceMs, membersOnly, 0);
  }

  /**
   * @param cacheUsers users whose {@link State} this subtask keeps in memory in front of keyed state
   *     ({@code emit.cache-users}; 0 = none). Read-through and write-through, so state stays the
   *     source of truth and a restored instance starts empty; least recently used entries leave
   *     first. With RocksDB, reading the state was the largest cost of the job: about 12 pool
   *     changes per embedding update, each a RocksDB lookup and deserialisation.
   */
  public PoolEmitter(float epsilon, long debounceMs, boolean membersOnly, int cacheUsers) {
    this.epsilon = epsilon;
    this.debounceMs = debounceMs;
    this.membersOnly = membersOnly;
    this.cacheUsers = cacheUsers;
  }

  @Override
  public void open(OpenContext openContext) {
    state = getRuntimeContext().getState(new ValueStateDescriptor<>("emitted", State.class));
    pending = getRuntimeContext().getState(new ValueStateDescriptor<>("pending", PoolChange.class));
    stale = getRuntimeContext().getMetricGroup().counter("staleChanges");
    suppressed = getRuntimeContext().getMetricGroup().counter("unchangedPools");
    cache = cacheUsers <= 0 ? null : new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Long, State> eldest) {
        return size() > cacheUsers;
      }
    };
  }

  /** The current key's state, from the cache when it holds it. */
  private State read(long userId) throws Exception {
    if (cache == null) {
      return state.value();
    }
    State st = cache.get(userId);
    if (st == null) {
      st = state.value();
      if (st != null) {
        cache.put(userId, st);
      }
    }
    return st;
  }

  private void write(long userId, State st) throws Exception {
    state.update(st);
    if (cache != null) {
      cache.put(userId, st);
    }
  }

  @Override
  public void processElement(PoolChange change, Context ctx, Collector<PoolUpdate> out) throws Exception {
    State st = read(change.userId());
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
      write(change.userId(), st);
      return;
    }
    if (debounceMs > 0) {
      pending.clear(); // a tombstone overtakes a held change; without debouncing nothing is ever held
    }
    write(change.userId(), emitIfChanged(st, change, ctx.timerService().currentProcessingTime(), out));
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<PoolUpdate> out) throws Exception {
    PoolChange p = pending.value();
    pending.clear();
    State st = read(ctx.getCurrentKey());
    if (p != null && st != null && p.seq() >= st.seq()) {
      write(ctx.getCurrentKey(), emitIfChanged(st, p, timestamp, out));
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
    return new State(st.seq(), v, c.embeddingVersion().intern(), c.neighbourIds(), c.similarities(), true); // one String per version
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
