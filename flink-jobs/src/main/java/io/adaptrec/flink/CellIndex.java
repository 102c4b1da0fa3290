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
 * <p>The candidate lists are derived data: they are a function of the universe's embeddings (the
 * exact top-K of a scan gives the same visible top-N as any list that keeps the invariant), so
 * {@link CellPoolFunction} persists only the embeddings and who is owned with which seq, and
 * {@link #restoreOwned} rebuilds each list by a scan after a restart.
 *
 * <p>Plain Java (no Flink) so the property test can drive it directly; {@link CellPoolFunction}
 * keeps it as a cache in front of keyed state.
 */
public final class CellIndex {

  /** An owned user: its id, the sequence number of its embedding, its version and its candidate list. */
  public static final class Owned {
    public final long userId;
    public long seq;
    public String version;
    public final Candidates candidates;

    Owned(long userId, long seq, String version, Candidates candidates) {
      this.userId = userId;
      this.seq = seq;
      this.version = version;
      this.candidates = candidates;
    }
  }

  private final int dim;
  private final int poolSize;
  private final int capacity;
  private final Set<Long> excluded;
  private final boolean membersOnly;

  private long[] ids = new long[16];
  // Embeddings column by column: cols[i][slot] is the slot's i-th component, so that one query is
  // scored against a block of slots with Vectors.dots (SIMD, bit-identical to Vectors.dot).
  private float[][] cols;
  // similarities of the current update's user with the owned block, and of a rescanned user with
  // the universe (two arrays: a rescan can happen inside the update's pass)
  private float[] updateSims = new float[16];
  private float[] scanSims = new float[16];
  private Owned[] ownerAt = new Owned[16]; // non-null where the slot's user is owned here
  // Owned users occupy slots [0, ownedCount): an update walks the owned users' columns
  // and summaries as one contiguous block instead of skipping over every replica of the cell.
  private int ownedCount;
  private boolean[] queryOnly = new boolean[16]; // true where the slot's user is excluded from every pool
  // A summary of each owned slot's candidate list in flat arrays (kept by sync), so that the common
  // case of an update -- u neither was nor becomes a candidate of v -- reads only arrays walked in
  // slot order, never v's list itself (following ownerAt -> Candidates -> ids[] for each of a
  // cell's owned users was 40 % of the job's CPU at 200k users). memberBits is a membership filter
  // of the list's ids (no false negatives): a 256-bit Bloom filter per slot, 3 bits per id. Its
  // false positives are what the fast path costs: each one follows v's list (three dependent
  // loads from cold memory). With 20 ids, the earlier 128-bit, one-bit-per-id filter answered
  // "maybe" for ~15 % of a cell's owned users; this one for ~1 % (both computed, for 20 ids).
  private int[] listSize = new int[16];
  private float[] lastSim = new float[16];
  private long[] lastId = new long[16];
  private long[] memberBits = new long[FILTER_WORDS * 16]; // FILTER_WORDS words per slot
  private int size;
  private int members; // slots that are not query-only
  private final Map<Long, Integer> slotOf = new HashMap<>();
  private static final int FILTER_WORDS = 4;

  private final List<Long> droppedOwners = new ArrayList<>();
  private final List<Owned> poolChanged = new ArrayList<>();
  private long rescans;

  public CellIndex(int dim, int poolSize, int capacity) {
    this(dim, poolSize, capacity, Set.of());
  }

  /** @param excluded users that get a pool but are never a candidate (pool.exclude-members) */
  public CellIndex(int dim, int poolSize, int capacity, Set<Long> excluded) {
    this(dim, poolSize, capacity, excluded, false);
  }

  /**
   * @param membersOnly {@code emit.on=members}: {@link #poolChanged()} lists a pool only when its
   *     set of members changed (or its owner is new here), not when only their order or similarities did
   */
  public CellIndex(int dim, int poolSize, int capacity, Set<Long> excluded, boolean membersOnly) {
    this.membersOnly = membersOnly;
    if (capacity < poolSize) {
      throw new IllegalArgumentException("capacity " + capacity + " < pool size " + poolSize);
    }
    this.dim = dim;
    this.poolSize = poolSize;
    this.capacity = capacity;
    this.excluded = excluded;
    this.cols = new float[dim][16];
  }

  /** Users no longer owned here after the last operation (remove them from the persisted owners). */
  public List<Long> droppedOwners() {
    return droppedOwners;
  }

  /** Owned users whose visible top-N changed (or whose own embedding changed) in the last operation. */
  public List<Owned> poolChanged() {
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
    return slot == null ? null : row(slot);
  }

  /** Number of owned users. */
  public int ownedCount() {
    return ownedCount;
  }

  /** Rebuilds the cache from persisted state: all replicas first, then the owned users. */
  public void restoreReplica(long userId, float[] vector) {
    checkDim(userId, vector);
    Integer slot = slotOf.get(userId);
    if (slot == null) {
      append(userId, vector);
    } else {
      setRow(slot, vector);
    }
  }

  /**
   * Makes a restored replica owned here and builds its candidate list by a scan of the universe
   * (after every replica is restored). Not counted in {@link #rescans()}: those are the
   * maintenance's own re-queries.
   */
  public void restoreOwned(long userId, long seq, String version) {
    Integer slot = slotOf.get(userId);
    if (slot == null) {
      throw new IllegalStateException("owned user " + userId + " has no embedding in the cell's state");
    }
    Owned o = new Owned(userId, seq, version, new Candidates(capacity));
    slot = own(slot, o);
    scan(slot, o.candidates);
    sync(slot);
  }

  /** The users owned here (for a restart under a changed exclusion set, which re-emits their pools). */
  public List<Owned> owners() {
    return Arrays.asList(Arrays.copyOf(ownerAt, ownedCount));
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
      setRow(slot, vector);
    }
    if (ownerAt[slot] != null && !ownedHere) {
      slot = disown(slot);
      droppedOwners.add(u);
    }
    long filterHash = filterHash(u);
    float[] sims = updateSims;
    if (!queryOnly[slot]) {
      Vectors.dots(vector, cols, 0, ownedCount, sims);
    }
    for (int j = 0; j < ownedCount && !queryOnly[slot]; j++) { // an excluded u is in no list and enters none
      if (j == slot) {
        continue;
      }
      Owned o = ownerAt[j];
      boolean knewEveryone = listSize[j] == membersBefore - (queryOnly[j] ? 0 : 1);
      float s = sims[j];
      boolean mayHold = mayHold(j, filterHash);
      boolean enters = beatsLast(j, s, u);
      if (!mayHold && !knewEveryone && !enters) {
        continue; // the common case: u neither was nor becomes a candidate of v
      }
      Candidates c = o.candidates;
      int pos = mayHold ? c.indexOf(u) : -1;
      if (pos < 0 && !knewEveryone && !enters) {
        continue; // a false positive of the membership filter
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
      boolean isNew = own == null;
      if (isNew) {
        own = new Owned(u, seq, version, new Candidates(capacity));
        slot = own(slot, own);
      }
      own.seq = seq;
      own.version = version;
      long[] before = membersOnly ? own.candidates.topIds(poolSize) : null;
      rescan(slot, own.candidates);
      if (!membersOnly || isNew || !sameMembers(before, own.candidates.topIds(poolSize))) {
        poolChanged.add(own); // its own embedding changed: in order mode every similarity moved
      }
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
    long filterHash = filterHash(u);
    for (int j = 0; j < ownedCount && wasMember; j++) { // an excluded u is in no list
      Owned o = ownerAt[j];
      if (!mayHold(j, filterHash)) {
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
    sync(slot);
    if (visibleChange(c, beforeIds, beforeSims)) {
      poolChanged.add(o);
    }
  }

  /** Whether the visible top-N differs from the snapshot: any difference, or with membersOnly the set of ids. */
  private boolean visibleChange(Candidates c, long[] beforeIds, float[] beforeSims) {
    return membersOnly ? !sameMembers(beforeIds, c.topIds(poolSize)) : !c.topEquals(poolSize, beforeIds, beforeSims);
  }

  /** True when both arrays hold the same ids (each array's ids are distinct), in any order. */
  public static boolean sameMembers(long[] a, long[] b) {
    if (a.length != b.length) {
      return false;
    }
    for (long x : a) {
      boolean found = false;
      for (long y : b) {
        if (x == y) {
          found = true;
          break;
        }
      }
      if (!found) {
        return false;
      }
    }
    return true;
  }

  /** Number of users the owner at {@code slot} can have as candidates: the members other than itself. */
  private int candidatesOf(int slot) {
    return members - (queryOnly[slot] ? 0 : 1);
  }

  /** Exact top-K of the members for the user at {@code slot}: the re-query. */
  private void rescan(int slot, Candidates c) {
    rescans++;
    scan(slot, c);
  }

  private void scan(int slot, Candidates c) {
    c.clear();
    float[] q = row(slot);
    float[] sims = scanSims;
    Vectors.dots(q, cols, 0, size, sims);
    int cap = c.capacity();
    for (int j = 0; j < size; j++) {
      if (j == slot || queryOnly[j]) {
        continue;
      }
      float s = sims[j];
      if (c.size() < cap || c.beatsLast(s, ids[j])) {
        c.insert(ids[j], s);
      }
    }
    if (ownerAt[slot] != null && ownerAt[slot].candidates == c) {
      sync(slot);
    }
  }

  /** True when (s, u) ranks before the last entry of the list at {@code slot} (or that list is empty). */
  private boolean beatsLast(int slot, float s, long u) {
    return listSize[slot] == 0 || Candidates.ranksBefore(s, u, lastSim[slot], lastId[slot]);
  }

  /** Refreshes the flat summary of the owned list at {@code slot} after it changed. */
  private void sync(int slot) {
    Candidates c = ownerAt[slot].candidates;
    int n = c.size();
    listSize[slot] = n;
    lastSim[slot] = n == 0 ? 0f : c.sim(n - 1);
    lastId[slot] = n == 0 ? 0L : c.id(n - 1);
    int base = FILTER_WORDS * slot;
    Arrays.fill(memberBits, base, base + FILTER_WORDS, 0L);
    for (int i = 0; i < n; i++) {
      long h = filterHash(c.id(i));
      for (int k = 0; k < 3; k++, h >>>= 8) {
        memberBits[base + (int) ((h >>> 6) & (FILTER_WORDS - 1))] |= 1L << h;
      }
    }
  }

  /**
   * Whether the list at {@code slot} may hold the id whose {@link #filterHash} is {@code h}: its
   * three bits (bytes 0..2 of the hash: a word in the slot's block and a bit in it) are all set.
   */
  private boolean mayHold(int slot, long h) {
    int base = FILTER_WORDS * slot;
    long[] bits = memberBits;
    return (bits[base + (int) ((h >>> 6) & 3)] & (1L << h)) != 0
        && (bits[base + (int) ((h >>> 14) & 3)] & (1L << (h >>> 8))) != 0
        && (bits[base + (int) ((h >>> 22) & 3)] & (1L << (h >>> 16))) != 0;
  }

  /** A well-mixed 64-bit hash of a user id (splitmix64's finaliser; ids are often consecutive). */
  private static long filterHash(long id) {
    long x = id * 0x9E3779B97F4A7C15L;
    x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
    x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
    return x ^ (x >>> 31);
  }

  private int append(long u, float[] vector) {
    ensureCapacity(size + 1);
    ids[size] = u;
    setRow(size, vector);
    ownerAt[size] = null;
    queryOnly[size] = excluded.contains(u);
    members += queryOnly[size] ? 0 : 1;
    slotOf.put(u, size);
    return size++;
  }

  private void ensureCapacity(int slots) {
    if (slots > ids.length) {
      int cap = Math.max(slots, ids.length * 2);
      ids = Arrays.copyOf(ids, cap);
      ownerAt = Arrays.copyOf(ownerAt, cap);
      queryOnly = Arrays.copyOf(queryOnly, cap);
      for (int i = 0; i < dim; i++) {
        cols[i] = Arrays.copyOf(cols[i], cap);
      }
      updateSims = new float[cap];
      scanSims = new float[cap];
      listSize = Arrays.copyOf(listSize, cap);
      lastSim = Arrays.copyOf(lastSim, cap);
      lastId = Arrays.copyOf(lastId, cap);
      memberBits = Arrays.copyOf(memberBits, FILTER_WORDS * cap);
    }
  }

  /** Removes the user at {@code slot} (not owned any more, or never). */
  private void swapRemove(int slot) {
    if (ownerAt[slot] != null) {
      slot = disown(slot);
    }
    slotOf.remove(ids[slot]);
    members -= queryOnly[slot] ? 0 : 1;
    int last = size - 1;
    if (slot != last) {
      moveSlot(last, slot);
    }
    ownerAt[last] = null;
    size = last;
  }

  /** Makes the user at {@code slot} owned with {@code o}; returns its slot, now in the owned block. */
  private int own(int slot, Owned o) {
    if (ownerAt[slot] == null) {
      if (slot != ownedCount) {
        swapSlots(slot, ownedCount);
        slot = ownedCount;
      }
      ownedCount++;
    }
    ownerAt[slot] = o;
    return slot;
  }

  /** The user at {@code slot} is no longer owned here; returns its slot, now after the owned block. */
  private int disown(int slot) {
    int lastOwned = ownedCount - 1;
    if (slot != lastOwned) {
      swapSlots(slot, lastOwned);
      slot = lastOwned;
    }
    ownerAt[slot] = null;
    ownedCount--;
    return slot;
  }

  private void swapSlots(int a, int b) {
    ensureCapacity(size + 1);
    int spare = size; // a scratch slot beyond the users
    moveSlot(a, spare);
    moveSlot(b, a);
    moveSlot(spare, b);
    ownerAt[spare] = null;
  }

  /** Copies every per-slot field of slot {@code from} to slot {@code to} and points the user there. */
  private void moveSlot(int from, int to) {
    ids[to] = ids[from];
    ownerAt[to] = ownerAt[from];
    queryOnly[to] = queryOnly[from];
    for (int i = 0; i < dim; i++) {
      cols[i][to] = cols[i][from];
    }
    listSize[to] = listSize[from];
    lastSim[to] = lastSim[from];
    lastId[to] = lastId[from];
    System.arraycopy(memberBits, FILTER_WORDS * from, memberBits, FILTER_WORDS * to, FILTER_WORDS);
    if (to < size) { // slot `size` is only ever a scratch slot
      slotOf.put(ids[to], to);
    }
  }

  private float[] row(int slot) {
    float[] v = new float[dim];
    for (int i = 0; i < dim; i++) {
      v[i] = cols[i][slot];
    }
    return v;
  }

  private void setRow(int slot, float[] v) {
    for (int i = 0; i < dim; i++) {
      cols[i][slot] = v[i];
    }
  }

  private void clearChanges() {
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
