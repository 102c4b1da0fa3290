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
 * {@code owners} (user -> change number, for users homed here). A {@link CellVersions} per cell
 * (one {@link CellIndex} per embedding version, so pools never mix versions) is a cache in front
 * of it, rebuilt from state the first time a cell is touched after a (re)start, because scanning a
 * RocksDB MapState on every update would deserialise the whole cell each time. Every operation
 * writes through the entries it changed, so a checkpoint never needs the cache.
 *
 * <p>The candidate lists are not persisted: they are derived from the embeddings (see
 * {@link CellIndex}), and the rebuild scans each owned user once, which gives the same visible
 * pools as before the restart. That keeps the state writes of one update to the user's own
 * entries (an embedding and its version in each covering cell, and its seq at home) instead of
 * also rewriting the ≈ 20 lists it enters, leaves or moves in. State written by a build that
 * persisted the lists ({@code owned}: seq, version and list) is migrated on the cell's first touch:
 * its seqs move to {@code owners}, its lists are dropped.
 *
 * <p>Users of the exclusion set ({@code pool.exclude-members}) are held like everyone else but are
 * query-only in the cache: they get pools, they are in none. {@code exclusion} (a fingerprint of
 * the set the cell's emitted pools were computed under; absent = the empty set) lets a restart with
 * a changed set repair the cell: the rebuilt lists already follow the new set, and on the first
 * touch every owned pool is emitted once ({@link PoolEmitter} forwards the ones that changed).
 */
public class CellPoolFunction extends KeyedProcessFunction<Integer, CellEvent, PoolChange> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(CellPoolFunction.class);

  /** An owned user's candidate list as builds before derived lists persisted it (read once, to migrate). */
  public record OwnedState(long seq, String version, long[] ids, float[] sims) {}

  public static final MapStateDescriptor<Long, float[]> REPLICAS =
      new MapStateDescriptor<>("replicas", Types.LONG, TypeInformation.of(float[].class));
  public static final MapStateDescriptor<Long, String> REPLICA_VERSIONS =
      new MapStateDescriptor<>("replica-versions", Types.LONG, Types.STRING);
  /** Legacy: lists persisted by earlier builds; emptied by the migration on a cell's first touch. */
  public static final MapStateDescriptor<Long, OwnedState> OWNED =
      new MapStateDescriptor<>("owned", Types.LONG, TypeInformation.of(OwnedState.class));
  public static final MapStateDescriptor<Long, Long> OWNERS = new MapStateDescriptor<>("owners", Types.LONG, Types.LONG);
  public static final ValueStateDescriptor<Long> EXCLUSION = new ValueStateDescriptor<>("exclusion", Types.LONG);

  private final int poolSize;
  private final int capacity;
  private final Set<Long> excluded;
  private final long exclusionFingerprint;
  private final boolean membersOnly;

  private transient MapState<Long, float[]> replicas;
  private transient MapState<Long, String> replicaVersions;
  private transient MapState<Long, OwnedState> owned;
  private transient MapState<Long, Long> owners;
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
    owners = getRuntimeContext().getMapState(OWNERS);
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
      // one String per version, not one per record and replica (the heap state and the cache hold millions)
      String version = e.embeddingVersion().intern();
      index.upsert(e.userId(), e.vector(), e.home() == cell, e.seq(), version);
      replicas.put(e.userId(), e.vector());
      replicaVersions.put(e.userId(), version);
      dropOwners(index);
      if (e.home() == cell) {
        owners.put(e.userId(), e.seq());
      }
    } else {
      if (!index.contains(e.userId())) {
        return; // e.g. a LEAVE/DELETE for a cell that never held the user: nothing to do
      }
      boolean wasOwned = index.owned(e.userId()) != null;
      index.remove(e.userId());
      replicas.remove(e.userId());
      replicaVersions.remove(e.userId());
      dropOwners(index);
      if (wasOwned && e.kind() == CellEvent.DELETE) {
        out.collect(new PoolChange(e.userId(), e.seq(), "", new long[0], new float[0], true, e.producedAt()));
      }
    }
    rescans += index.rescans() - before;
    emitChanged(index, e.producedAt(), out);
  }

  /**
   * After a (re)start: when the cell's pools were last emitted under another exclusion set than
   * the configured one, emits every owned pool once (the rebuilt lists follow the configured set;
   * {@link PoolEmitter} drops the unchanged ones) and records the set. A brand-new cell has none.
   */
  private void reconcileExclusion(CellVersions index, long producedAt, Collector<PoolChange> out) throws Exception {
    Long persistedUnder = exclusion.value();
    if ((persistedUnder == null ? EMPTY_FINGERPRINT : persistedUnder) == exclusionFingerprint) {
      return;
    }
    for (CellIndex.Owned o : index.owners()) {
      emit(o, producedAt, out);
    }
    exclusion.update(exclusionFingerprint);
  }

  private void dropOwners(CellVersions index) throws Exception {
    for (long id : index.droppedOwners()) {
      owners.remove(id);
    }
  }

  /** Emits the pools that the last operation on {@code index} changed. */
  private void emitChanged(CellVersions index, long producedAt, Collector<PoolChange> out) {
    for (CellIndex.Owned o : index.poolChanged()) {
      emit(o, producedAt, out);
    }
  }

  private void emit(CellIndex.Owned o, long producedAt, Collector<PoolChange> out) {
    out.collect(new PoolChange(o.userId, o.seq, o.version, o.candidates.topIds(poolSize), o.candidates.topSims(poolSize), false, producedAt));
  }

  /** State of a build that persisted the lists: keep each owner's seq, drop the lists. */
  private void migrateLegacyLists() throws Exception {
    Map<Long, Long> seqs = new HashMap<>();
    for (Map.Entry<Long, OwnedState> o : owned.entries()) {
      seqs.put(o.getKey(), o.getValue().seq());
    }
    if (!seqs.isEmpty()) {
      owners.putAll(seqs);
      owned.clear();
    }
  }

  /** What the cache holds for an owned user (seq, version, candidate list), or null (for tests). */
  CellIndex.Owned cachedOwned(int cell, long userId) {
    CellVersions index = cache.get(cell);
    return index == null ? null : index.owned(userId);
  }

  /** Full scans run by this instance (own-embedding rescans and re-queries), for metrics and tests. */
  long rescans() {
    return rescans;
  }

  /**
   * Rebuilds the cell's cache from keyed state (empty on first use, full after a restore): the
   * replicas, then each owner's list by a scan. State written before pools were split by version
   * has no {@code replica-versions}: it cannot be restored (which version a replica is in is not
   * known), so this fails naming the fix.
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
      index.restoreReplica(r.getKey(), version.intern(), r.getValue());
    }
    migrateLegacyLists();
    for (Map.Entry<Long, Long> o : owners.entries()) {
      index.restoreOwned(o.getKey(), o.getValue());
    }
    return index;
  }
}
