package io.adaptrec.flink;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keyed by cell. Keyed state is the source of truth: {@code replicas} (user -> unit embedding, for
 * the cell's universe), {@code replica-versions} (user -> embedding version of that embedding) and
 * {@code owned} (user -> seq, version and candidate list, for users homed here). A
 * {@link CellVersions} per cell (one {@link CellIndex} per embedding version, so pools never mix
 * versions) is a cache in front of it, rebuilt from state the first time a cell is touched after
 * a (re)start, because scanning a RocksDB MapState on every update would deserialise the whole
 * cell each time. Every operation writes through the entries it changed, so a checkpoint never
 * needs the cache.
 *
 * <p>Users of the exclusion set ({@code pool.exclude-members}) are held like everyone else but are
 * query-only in the cache: they get pools, they are in none. {@code exclusion} (a fingerprint of
 * the set the persisted lists were computed under; absent = the empty set) lets a restart with a
 * changed set repair the cell: on the first touch every owned list is rescanned under the new set,
 * persisted, and the pools that changed are emitted.
 */
public class CellPoolFunction extends KeyedProcessFunction<Integer, CellEvent, PoolChange> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(CellPoolFunction.class);

  /** Persisted form of an owned user's candidate list. */
  public record OwnedState(long seq, String version, long[] ids, float[] sims) {}

  public static final MapStateDescriptor<Long, float[]> REPLICAS =
      new MapStateDescriptor<>("replicas", Types.LONG, TypeInformation.of(float[].class));
  public static final MapStateDescriptor<Long, String> REPLICA_VERSIONS =
      new MapStateDescriptor<>("replica-versions", Types.LONG, Types.STRING);
  public static final MapStateDescriptor<Long, OwnedState> OWNED =
      new MapStateDescriptor<>("owned", Types.LONG, TypeInformation.of(OwnedState.class));
  public static final ValueStateDescriptor<Long> EXCLUSION = new ValueStateDescriptor<>("exclusion", Types.LONG);

  private final int poolSize;
  private final int capacity;
  private final Set<Long> excluded;
  private final long exclusionFingerprint;
  private final boolean membersOnly;

  private transient MapState<Long, float[]> replicas;
  private transient MapState<Long, String> replicaVersions;
  private transient MapState<Long, OwnedState> owned;
  private transient ValueState<Long> exclusion;
  private transient Map<Integer, CellVersions> cache;
  private transient Counter dimensionMismatches;
  private transient long rescans;

  public CellPoolFunction(int poolSize, int capacity) {
    this(poolSize, capacity, Set.of());
  }

  /** @param excluded users that get a pool but are never in one (pool.exclude-members) */
  public CellPoolFunction(int poolSize, int capacity, Set<Long> excluded) {
    this(poolSize, capacity, excluded, false);
  }

  /** @param membersOnly {@code emit.on=members}: report a pool only when its set of members changed */
  public CellPoolFunction(int poolSize, int capacity, Set<Long> excluded, boolean membersOnly) {
    this.membersOnly = membersOnly;
    this.poolSize = poolSize;
    this.capacity = capacity;
    this.excluded = Set.copyOf(excluded);
    this.exclusionFingerprint = fingerprint(this.excluded);
  }

  /** Order-independent fingerprint of an exclusion set (the empty set has one too). */
  static long fingerprint(Set<Long> ids) {
    long h = 0;
    for (long id : ids) {
      h += mix(id);
    }
    return h ^ mix(ids.size() + 0x5bd1e995L);
  }

  private static final long EMPTY_FINGERPRINT = fingerprint(Set.of());

  private static long mix(long x) { // splitmix64 finaliser
    x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
    x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
    return x ^ (x >>> 31);
  }

  @Override
  public void open(OpenContext openContext) {
    replicas = getRuntimeContext().getMapState(REPLICAS);
    replicaVersions = getRuntimeContext().getMapState(REPLICA_VERSIONS);
    owned = getRuntimeContext().getMapState(OWNED);
    exclusion = getRuntimeContext().getState(EXCLUSION);
    cache = new HashMap<>();
    dimensionMismatches = getRuntimeContext().getMetricGroup().counter("dimensionMismatches");
    getRuntimeContext().getMetricGroup().gauge("rescans", () -> rescans);
    getRuntimeContext().getMetricGroup().gauge("cachedCells", () -> cache.size());
  }

  @Override
  public void processElement(CellEvent e, Context ctx, Collector<PoolChange> out) throws Exception {
    int cell = ctx.getCurrentKey();
    CellVersions index = cache.get(cell);
    if (index == null) {
      index = restore(cell);
      cache.put(cell, index);
      reconcileExclusion(index, e.producedAt(), out);
    }
    long before = index.rescans();
    if (e.kind() == CellEvent.UPSERT) {
      int dim = index.dim(e.embeddingVersion());
      if (dim >= 0 && e.vector().length != dim) {
        dimensionMismatches.inc();
        LOG.warn("user {}: embedding has {} dimensions, cell {} holds {}-dimensional embeddings of version {}; set embedding.dim to reject such records upstream",
            e.userId(), e.vector().length, cell, dim, e.embeddingVersion());
        return;
      }
      index.upsert(e.userId(), e.vector(), e.home() == cell, e.seq(), e.embeddingVersion());
      replicas.put(e.userId(), e.vector());
      replicaVersions.put(e.userId(), e.embeddingVersion());
    } else {
      if (!index.contains(e.userId())) {
        return; // e.g. a LEAVE/DELETE for a cell that never held the user: nothing to do
      }
      boolean wasOwned = index.owned(e.userId()) != null;
      index.remove(e.userId());
      replicas.remove(e.userId());
      replicaVersions.remove(e.userId());
      if (wasOwned && e.kind() == CellEvent.DELETE) {
        out.collect(new PoolChange(e.userId(), e.seq(), "", new long[0], new float[0], true, e.producedAt()));
      }
    }
    rescans += index.rescans() - before;
    writeThrough(index, e.producedAt(), out);
  }

  /**
   * After a (re)start: when the cell's lists were persisted under another exclusion set than the
   * configured one, rescans every owned list (a brand-new cell has none: free) and records the set.
   */
  private void reconcileExclusion(CellVersions index, long producedAt, Collector<PoolChange> out) throws Exception {
    Long persistedUnder = exclusion.value();
    if ((persistedUnder == null ? EMPTY_FINGERPRINT : persistedUnder) == exclusionFingerprint) {
      return;
    }
    long before = index.rescans();
    index.rescanOwners();
    rescans += index.rescans() - before;
    writeThrough(index, producedAt, out);
    exclusion.update(exclusionFingerprint);
  }

  /** Persists what the last operation on {@code index} changed and emits the pools that changed. */
  private void writeThrough(CellVersions index, long producedAt, Collector<PoolChange> out) throws Exception {
    for (long id : index.droppedOwners()) {
      owned.remove(id);
    }
    for (long id : index.changedOwners()) {
      CellIndex.Owned o = index.owned(id);
      Candidates c = o.candidates;
      owned.put(id, new OwnedState(o.seq, o.version, c.topIds(c.size()), c.topSims(c.size())));
    }
    for (long id : index.poolChanged()) {
      CellIndex.Owned o = index.owned(id);
      out.collect(new PoolChange(id, o.seq, o.version, o.candidates.topIds(poolSize), o.candidates.topSims(poolSize), false, producedAt));
    }
  }

  /** Full scans run by this instance (own-embedding rescans and re-queries), for metrics and tests. */
  long rescans() {
    return rescans;
  }

  /**
   * Rebuilds the cell's cache from keyed state (empty on first use, full after a restore). State
   * written before pools were split by version has no {@code replica-versions}: it cannot be
   * restored (which version a replica is in is not known), so this fails naming the fix.
   */
  private CellVersions restore(int cell) throws Exception {
    CellVersions index = new CellVersions(poolSize, capacity, excluded, membersOnly);
    for (Map.Entry<Long, float[]> r : replicas.entries()) {
      String version = replicaVersions.get(r.getKey());
      if (version == null) {
        throw new IllegalStateException("cell " + cell + ": the replica of user " + r.getKey()
            + " has no embedding version in state (state written before pools were kept per embedding version);"
            + " start the job without this savepoint/checkpoint and let it re-read user-state from the earliest offset");
      }
      index.restoreReplica(r.getKey(), version, r.getValue());
    }
    for (Map.Entry<Long, OwnedState> o : owned.entries()) {
      OwnedState s = o.getValue();
      index.restoreOwned(o.getKey(), s.seq(), s.version(), Candidates.of(s.ids(), s.sims(), capacity));
    }
    return index;
  }
}
