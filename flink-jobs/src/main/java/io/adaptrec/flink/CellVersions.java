package io.adaptrec.flink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One cell's users split by embedding version: a {@link CellIndex} per {@code embeddingVersion},
 * so a pool only ever ranks users whose current embedding is in the owner's version (similarities
 * across two embedding spaces mean nothing).
 *
 * <p>Each index keeps {@link CellIndex}'s invariant within its version. A user whose embedding
 * moves to another version (the streams module migrating users to new item embeddings) is
 * removed from its old version's index exactly like a delete — it leaves every pool there, which
 * refill from their spare candidates or re-query among the users still in the old version — and
 * then upserted into the new version's index, where its own pool is rescanned among that
 * version's users. An index is dropped when its last user leaves, so a finished migration leaves
 * nothing of the old version behind. Versions can differ in dimension; within one version every
 * embedding must have the same.
 *
 * <p>Users in the exclusion set ({@code pool.exclude-members}) are query-only in every version's
 * index: they get a pool among the non-excluded users of their version and are never in one
 * (see {@link CellIndex}).
 *
 * <p>Plain Java (no Flink), like {@link CellIndex}: the property test drives it directly and
 * {@link CellPoolFunction} keeps it as the per-cell cache. After each operation,
 * {@link #droppedOwners()} and {@link #poolChanged()} list what the operation changed.
 */
public final class CellVersions {
  private final int poolSize;
  private final int capacity;
  private final Set<Long> excluded;
  private final boolean membersOnly;
  private final Map<String, CellIndex> byVersion = new HashMap<>();
  private final Map<Long, String> versionOf = new HashMap<>();

  private final List<Long> droppedOwners = new ArrayList<>();
  private final List<CellIndex.Owned> poolChanged = new ArrayList<>();
  private long retiredRescans;

  public CellVersions(int poolSize, int capacity) {
    this(poolSize, capacity, Set.of());
  }

  /** @param excluded users that get a pool but are never a candidate (pool.exclude-members) */
  public CellVersions(int poolSize, int capacity, Set<Long> excluded) {
    this(poolSize, capacity, excluded, false);
  }

  /** @param membersOnly {@code emit.on=members}: {@link #poolChanged()} lists only pools whose set of members changed */
  public CellVersions(int poolSize, int capacity, Set<Long> excluded, boolean membersOnly) {
    this.membersOnly = membersOnly;
    if (capacity < poolSize) {
      throw new IllegalArgumentException("capacity " + capacity + " < pool size " + poolSize);
    }
    this.poolSize = poolSize;
    this.capacity = capacity;
    this.excluded = excluded;
  }

  /** Users no longer owned in the index they were owned in before the last operation (remove them from the persisted owners). */
  public List<Long> droppedOwners() {
    return droppedOwners;
  }

  /** Owned users whose visible top-N changed (or whose own embedding changed) in the last operation. */
  public List<CellIndex.Owned> poolChanged() {
    return poolChanged;
  }

  /** The embedding version the cell holds the user in, or null when the user is not in the cell. */
  public String version(long userId) {
    return versionOf.get(userId);
  }

  /** Dimension of the embeddings of {@code version} in this cell, or -1 when the cell holds none of that version. */
  public int dim(String version) {
    CellIndex index = byVersion.get(version);
    return index == null ? -1 : index.dim();
  }

  /** The versions the cell holds users of (for tests and metrics). */
  public Set<String> versions() {
    return byVersion.keySet();
  }

  /** The index of one version, or null (for tests). */
  public CellIndex index(String version) {
    return byVersion.get(version);
  }

  public boolean contains(long userId) {
    return versionOf.containsKey(userId);
  }

  public CellIndex.Owned owned(long userId) {
    String v = versionOf.get(userId);
    return v == null ? null : byVersion.get(v).owned(userId);
  }

  public float[] vector(long userId) {
    String v = versionOf.get(userId);
    return v == null ? null : byVersion.get(v).vector(userId);
  }

  /** Users in the cell's universe, all versions together. */
  public int universeSize() {
    return versionOf.size();
  }

  /** Full scans run so far (own-embedding rescans and re-queries), in every version's index. */
  public long rescans() {
    long n = retiredRescans;
    for (CellIndex index : byVersion.values()) {
      n += index.rescans();
    }
    return n;
  }

  /** Rebuilds the cache from persisted state: all replicas first, then the owned users. */
  public void restoreReplica(long userId, String version, float[] vector) {
    String old = versionOf.get(userId);
    if (old != null && !old.equals(version)) {
      throw new IllegalStateException("user " + userId + " restored in versions " + old + " and " + version);
    }
    byVersion.computeIfAbsent(version, v -> new CellIndex(vector.length, poolSize, capacity, excluded, membersOnly)).restoreReplica(userId, vector);
    versionOf.put(userId, version);
  }

  /** After every replica: {@code userId} is owned here with change number {@code seq}; its list is rebuilt by a scan in its version. */
  public void restoreOwned(long userId, long seq) {
    String held = versionOf.get(userId);
    if (held == null) {
      throw new IllegalStateException("owned user " + userId + " has no embedding in the cell's state");
    }
    byVersion.get(held).restoreOwned(userId, seq, held);
  }

  /** The users owned here, every version. */
  public List<CellIndex.Owned> owners() {
    List<CellIndex.Owned> out = new ArrayList<>();
    for (CellIndex index : byVersion.values()) {
      out.addAll(index.owners());
    }
    return out;
  }

  /**
   * User {@code u} (unit vector) is in this cell's universe with a new embedding of {@code version}.
   * The caller checks the dimension against {@link #dim(String)} first.
   */
  public void upsert(long u, float[] vector, boolean ownedHere, long seq, String version) {
    clearChanges();
    String old = versionOf.get(u);
    if (old != null && !old.equals(version)) {
      removeFrom(old, u); // leaves the old version's pools as a delete would
    }
    CellIndex index = byVersion.computeIfAbsent(version, v -> new CellIndex(vector.length, poolSize, capacity, excluded, membersOnly));
    index.upsert(u, vector, ownedHere, seq, version);
    versionOf.put(u, version);
    collect(index);
  }

  /** User {@code u} leaves this cell's universe (deleted, below minimum history, or moved away). */
  public void remove(long u) {
    clearChanges();
    String old = versionOf.get(u);
    if (old != null) {
      removeFrom(old, u);
    }
  }

  private void removeFrom(String version, long u) {
    CellIndex index = byVersion.get(version);
    index.remove(u);
    versionOf.remove(u);
    collect(index);
    if (index.universeSize() == 0) {
      retiredRescans += index.rescans();
      byVersion.remove(version);
    }
  }

  private void collect(CellIndex index) {
    droppedOwners.addAll(index.droppedOwners());
    poolChanged.addAll(index.poolChanged());
  }

  private void clearChanges() {
    droppedOwners.clear();
    poolChanged.clear();
  }
}
