package io.adaptrec.flink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The in-memory working set of one cell for one embedding version ({@link CellVersions} holds one
 * per version): the embeddings of every user in the cell's universe (users whose coverage
 * includes this cell and whose current embedding is in this version), and the candidate lists of
 * the users the cell owns (whose home is this cell).
 *
 * <p><b>Excluded users</b> ({@code pool.exclude-members}) are <i>query-only</i>: their embedding is
 * kept so that the ones homed here get a pool, but they are never a candidate of anyone. The
 * <i>members</i> of the index are its users that are not excluded; every owned user, excluded or
 * not, ranks the members only.
 *
 * <p>Invariant, per owned user v with candidate list C_v after every operation: C_v is the exact
 * top-|C_v| of the members without v under (similarity desc, id asc), and
 * |C_v| >= min(N, |members without v|). An update of u only needs sim(v, u) to keep it:
 * <ul>
 *   <li>u in C_v: drop u; the rest is still an exact prefix. Put u back only if it still ranks
 *       before the new last entry (or C_v knew every user), because an outsider might sit between.
 *   <li>u not in C_v: insert when it ranks before the last entry (or C_v knew every user).
 *   <li>if fewer than N entries are left, rescan the universe (a re-query, counted in
 *       {@link #rescans()}); the K - N spare entries make that rare.
 * </ul>
 * The owned user u itself gets a full rescan when its own embedding changes, since every one of
 * its similarities moved. An update or removal of an excluded u touches no other list (u is in
 * none); only its own pool is rescanned.
 *
 * <p>Plain Java (no Flink) so the property test can drive it directly; {@link CellPoolFunction}
 * keeps it as a cache in front of keyed state and persists what each operation reports changed.
 */
public final class CellIndex {

  /** An owned user: the sequence number of its embedding and its candidate list. */
  public static final class Owned {
    public long seq;
    public String version;
    public final Candidates candidates;

    Owned(long seq, String version, Candidates candidates) {
      this.seq = seq;
      this.version = version;
      this.candidates = candidates;
    }
  }

  private final int dim;
  private final int poolSize;
  private final int capacity;
  private final Set<Long> excluded;

  private long[] ids = new long[16];
  private float[] vectors; // row-major [slot][dim]
  private Owned[] ownerAt = new Owned[16]; // non-null where the slot's user is owned here
  private boolean[] queryOnly = new boolean[16]; // true where the slot's user is excluded from every pool
  private int size;
  private int members; // slots that are not query-only
  private final Map<Long, Integer> slotOf = new HashMap<>();

  private final List<Long> changedOwners = new ArrayList<>();
  private final List<Long> droppedOwners = new ArrayList<>();
  private final List<Long> poolChanged = new ArrayList<>();
  private long rescans;

  public CellIndex(int dim, int poolSize, int capacity) {
    this(dim, poolSize, capacity, Set.of());
  }

  /** @param excluded users that get a pool but are never a candidate (pool.exclude-members) */
  public CellIndex(int dim, int poolSize, int capacity, Set<Long> excluded) {
    if (capacity < poolSize) {
      throw new IllegalArgumentException("capacity " + capacity + " < pool size " + poolSize);
    }
    this.dim = dim;
    this.poolSize = poolSize;
    this.capacity = capacity;
    this.excluded = excluded;
    this.vectors = new float[16 * dim];
  }

  /** Owned users whose candidate list changed in the last operation (persist them). */
  public List<Long> changedOwners() {
    return changedOwners;
  }

  /** Users no longer owned here after the last operation (remove their persisted lists). */
  public List<Long> droppedOwners() {
    return droppedOwners;
  }

  /** Owned users whose visible top-N changed (or whose own embedding changed) in the last operation. */
  public List<Long> poolChanged() {
    return poolChanged;
  }

  public int dim() {
    return dim;
  }

  public long rescans() {
    return rescans;
  }

  /** Users in the index, excluded ones included. */
  public int universeSize() {
    return size;
  }

  public boolean contains(long userId) {
    return slotOf.containsKey(userId);
  }

  public Owned owned(long userId) {
    Integer slot = slotOf.get(userId);
    return slot == null ? null : ownerAt[slot];
  }

  public float[] vector(long userId) {
    Integer slot = slotOf.get(userId);
    return slot == null ? null : Arrays.copyOfRange(vectors, slot * dim, (slot + 1) * dim);
  }

  /** Number of owned users (scans slots; for tests and metrics, not the hot path). */
  public int ownedCount() {
    int n = 0;
    for (int i = 0; i < size; i++) {
      n += ownerAt[i] == null ? 0 : 1;
    }
    return n;
  }

  /** Rebuilds the cache from persisted state: all replicas first, then owned lists. */
  public void restoreReplica(long userId, float[] vector) {
    checkDim(userId, vector);
    Integer slot = slotOf.get(userId);
    if (slot == null) {
      append(userId, vector);
    } else {
      System.arraycopy(vector, 0, vectors, slot * dim, dim);
    }
  }

  public void restoreOwned(long userId, long seq, String version, Candidates candidates) {
    Integer slot = slotOf.get(userId);
    if (slot == null) {
      throw new IllegalStateException("owned user " + userId + " has no embedding in the cell's state");
    }
    ownerAt[slot] = new Owned(seq, version, candidates);
  }

  /**
   * User {@code u} (unit vector) is in this cell's universe with a new embedding. {@code ownedHere}
   * says whether this cell is u's home; {@code seq} is u's change number and {@code version} the
   * embedding version, both carried on u's pool.
   */
  public void upsert(long u, float[] vector, boolean ownedHere, long seq, String version) {
    checkDim(u, vector);
    clearChanges();
    int membersBefore = members;
    Integer existing = slotOf.get(u);
    int slot;
    if (existing == null) {
      slot = append(u, vector);
    } else {
      slot = existing;
      System.arraycopy(vector, 0, vectors, slot * dim, dim);
    }
    if (ownerAt[slot] != null && !ownedHere) {
      ownerAt[slot] = null;
      droppedOwners.add(u);
    }
    for (int j = 0; j < size && !queryOnly[slot]; j++) { // an excluded u is in no list and enters none
      Owned o = ownerAt[j];
      if (o == null || j == slot) {
        continue;
      }
      Candidates c = o.candidates;
      boolean knewEveryone = c.size() == membersBefore - (queryOnly[j] ? 0 : 1);
      int pos = c.indexOf(u);
      float s = Vectors.dot(vector, vectors, j);
      if (pos < 0 && !knewEveryone && !c.beatsLast(s, u)) {
        continue; // the common case: u neither was nor becomes a candidate of v
      }
      long[] beforeIds = c.topIds(poolSize);
      float[] beforeSims = c.topSims(poolSize);
      if (pos >= 0) {
        c.removeAt(pos);
      }
      if (knewEveryone || (c.size() > 0 && c.beatsLast(s, u))) {
        c.insert(u, s);
      }
      afterChange(j, o, beforeIds, beforeSims);
    }
    if (ownedHere) {
      Owned own = ownerAt[slot];
      if (own == null) {
        own = new Owned(seq, version, new Candidates(capacity));
        ownerAt[slot] = own;
      }
      own.seq = seq;
      own.version = version;
      rescan(slot, own.candidates);
      changedOwners.add(u);
      poolChanged.add(u);
    }
  }

  /** User {@code u} leaves this cell's universe (deleted, below minimum history, or moved away). */
  public void remove(long u) {
    clearChanges();
    Integer existing = slotOf.get(u);
    if (existing == null) {
      return;
    }
    int slot = existing;
    if (ownerAt[slot] != null) {
      droppedOwners.add(u);
    }
    boolean wasMember = !queryOnly[slot];
    swapRemove(slot);
    for (int j = 0; j < size && wasMember; j++) { // an excluded u is in no list
      Owned o = ownerAt[j];
      if (o == null) {
        continue;
      }
      int pos = o.candidates.indexOf(u);
      if (pos < 0) {
        continue;
      }
      long[] beforeIds = o.candidates.topIds(poolSize);
      float[] beforeSims = o.candidates.topSims(poolSize);
      o.candidates.removeAt(pos);
      afterChange(j, o, beforeIds, beforeSims);
    }
  }

  private void afterChange(int slot, Owned o, long[] beforeIds, float[] beforeSims) {
    Candidates c = o.candidates;
    if (c.size() < poolSize && c.size() < candidatesOf(slot)) {
      rescan(slot, c);
    }
    long v = ids[slot];
    changedOwners.add(v);
    if (!c.topEquals(poolSize, beforeIds, beforeSims)) {
      poolChanged.add(v);
    }
  }

  /**
   * Rescans every owned user (after a restore under a changed exclusion set, whose persisted
   * lists may hold users now excluded or miss users no longer excluded). Reports every owner as
   * changed, and in {@link #poolChanged()} those whose visible top-N changed.
   */
  public void rescanOwners() {
    clearChanges();
    for (int j = 0; j < size; j++) {
      Owned o = ownerAt[j];
      if (o == null) {
        continue;
      }
      long[] beforeIds = o.candidates.topIds(poolSize);
      float[] beforeSims = o.candidates.topSims(poolSize);
      rescan(j, o.candidates);
      changedOwners.add(ids[j]);
      if (!o.candidates.topEquals(poolSize, beforeIds, beforeSims)) {
        poolChanged.add(ids[j]);
      }
    }
  }

  /** Number of users the owner at {@code slot} can have as candidates: the members other than itself. */
  private int candidatesOf(int slot) {
    return members - (queryOnly[slot] ? 0 : 1);
  }

  /** Exact top-K of the members for the user at {@code slot}: the re-query. */
  private void rescan(int slot, Candidates c) {
    rescans++;
    c.clear();
    float[] q = Arrays.copyOfRange(vectors, slot * dim, (slot + 1) * dim);
    int cap = c.capacity();
    for (int j = 0; j < size; j++) {
      if (j == slot || queryOnly[j]) {
        continue;
      }
      float s = Vectors.dot(q, vectors, j);
      if (c.size() < cap || c.beatsLast(s, ids[j])) {
        c.insert(ids[j], s);
      }
    }
  }

  private int append(long u, float[] vector) {
    if (size == ids.length) {
      int cap = ids.length * 2;
      ids = Arrays.copyOf(ids, cap);
      ownerAt = Arrays.copyOf(ownerAt, cap);
      queryOnly = Arrays.copyOf(queryOnly, cap);
      vectors = Arrays.copyOf(vectors, cap * dim);
    }
    ids[size] = u;
    System.arraycopy(vector, 0, vectors, size * dim, dim);
    ownerAt[size] = null;
    queryOnly[size] = excluded.contains(u);
    members += queryOnly[size] ? 0 : 1;
    slotOf.put(u, size);
    return size++;
  }

  private void swapRemove(int slot) {
    slotOf.remove(ids[slot]);
    members -= queryOnly[slot] ? 0 : 1;
    int last = size - 1;
    if (slot != last) {
      ids[slot] = ids[last];
      ownerAt[slot] = ownerAt[last];
      queryOnly[slot] = queryOnly[last];
      System.arraycopy(vectors, last * dim, vectors, slot * dim, dim);
      slotOf.put(ids[slot], slot);
    }
    ownerAt[last] = null;
    size = last;
  }

  private void clearChanges() {
    changedOwners.clear();
    droppedOwners.clear();
    poolChanged.clear();
  }

  private void checkDim(long userId, float[] vector) {
    if (vector.length != dim) {
      throw new IllegalArgumentException(
          "user " + userId + ": embedding has " + vector.length + " dimensions, the job expects " + dim);
    }
  }
}
