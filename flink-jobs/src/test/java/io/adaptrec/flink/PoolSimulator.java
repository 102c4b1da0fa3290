package io.adaptrec.flink;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Drives the job's plain-Java core (routing and {@link CellVersions}) the way the Flink job does,
 * without Flink: one FIFO queue per cell, delivered in a random interleaving, as parallel subtasks
 * would. Used by the property test and the recall tests.
 *
 * <p>Every pool change a cell reports (what {@link CellPoolFunction} would emit) is checked when
 * it happens against the simulator's own record of the latest embedding version each user's
 * events carried to that cell: the pool's version must be its owner's, and every member's latest
 * version must equal it. Violations are collected in {@link #versionViolations}. A pool change
 * holding a user of the exclusion set ({@code pool.exclude-members}) is collected in
 * {@link #exclusionViolations}.
 */
final class PoolSimulator {
  final Partitioner partitioner;
  final int poolSize;
  final int capacity;
  final int minHistory;
  final Set<Long> excluded;
  final Map<Long, UserRouter.State> routerState = new HashMap<>();
  final Map<Integer, CellVersions> cells = new HashMap<>();
  /** Per cell: user -> embedding version of the latest UPSERT delivered there (removed on LEAVE/DELETE). */
  final Map<Integer, Map<Long, String>> deliveredVersions = new HashMap<>();
  /** Pool changes that held a member of another version, or were labelled with a version not the owner's. */
  final List<String> versionViolations = new ArrayList<>();
  /** Pool changes that held an excluded user. */
  final List<String> exclusionViolations = new ArrayList<>();
  long poolChanges;
  /** What PoolEmitter would hold as last emitted: per owner, the members of the newest-seq report. */
  final Map<Long, long[]> reported = new HashMap<>();
  private final Map<Long, Long> reportedSeq = new HashMap<>();
  /** {@code emit.on=members}: cells report a pool only when its set of members changed. */
  boolean membersOnly;
  private final Map<Integer, ArrayDeque<CellEvent>> queues = new HashMap<>();
  private final Random interleaving;

  PoolSimulator(Partitioner partitioner, int poolSize, int capacity, int minHistory, long seed) {
    this(partitioner, poolSize, capacity, minHistory, Set.of(), seed);
  }

  PoolSimulator(Partitioner partitioner, int poolSize, int capacity, int minHistory, Set<Long> excluded, long seed) {
    this.excluded = excluded;
    this.partitioner = partitioner;
    this.poolSize = poolSize;
    this.capacity = capacity;
    this.minHistory = minHistory;
    this.interleaving = new Random(seed);
  }

  /** Routes one update; its cell events wait in the cells' queues until {@link #deliver}. */
  void accept(UserUpdate u) {
    boolean eligible = !u.deleted() && u.historyLength() >= minHistory && u.embedding() != null;
    float[] unit = eligible ? Vectors.normalised(u.embedding()) : null;
    UserRouter.Routed r = UserRouter.route(partitioner, routerState.get(u.userId()), u, unit);
    if (r == null) {
      return;
    }
    routerState.put(u.userId(), r.next());
    for (CellEvent e : r.events()) {
      queues.computeIfAbsent(e.cell(), k -> new ArrayDeque<>()).add(e);
    }
  }

  /** Delivers up to {@code max} queued events, picking a random non-empty cell queue each time. */
  void deliver(int max) {
    for (int i = 0; i < max; i++) {
      Integer[] ready = queues.entrySet().stream().filter(e -> !e.getValue().isEmpty()).map(Map.Entry::getKey).toArray(Integer[]::new);
      if (ready.length == 0) {
        return;
      }
      int cell = ready[interleaving.nextInt(ready.length)];
      apply(queues.get(cell).poll());
    }
  }

  void drain() {
    deliver(Integer.MAX_VALUE);
  }

  private void apply(CellEvent e) {
    CellVersions idx = cells.computeIfAbsent(e.cell(), k -> new CellVersions(poolSize, capacity, excluded, membersOnly));
    Map<Long, String> delivered = deliveredVersions.computeIfAbsent(e.cell(), k -> new HashMap<>());
    if (e.kind() == CellEvent.UPSERT) {
      idx.upsert(e.userId(), e.vector(), e.home() == e.cell(), e.seq(), e.embeddingVersion());
      delivered.put(e.userId(), e.embeddingVersion());
    } else {
      idx.remove(e.userId());
      delivered.remove(e.userId());
    }
    for (CellIndex.Owned o : idx.poolChanged()) {
      poolChanges++;
      long owner = o.userId;
      long[] members = o.candidates.topIds(poolSize);
      if (o.seq >= reportedSeq.getOrDefault(owner, Long.MIN_VALUE)) {
        reportedSeq.put(owner, o.seq);
        reported.put(owner, members);
      }
      if (!o.version.equals(delivered.get(owner))) {
        versionViolations.add("cell " + e.cell() + ": pool of " + owner + " labelled " + o.version + ", owner's latest version " + delivered.get(owner));
      }
      for (long m : members) {
        if (excluded.contains(m)) {
          exclusionViolations.add("cell " + e.cell() + ": pool of " + owner + " " + Arrays.toString(members)
              + " holds excluded user " + m + " (after " + describe(e) + ")");
        }
        if (!o.version.equals(delivered.get(m))) {
          versionViolations.add("cell " + e.cell() + ": pool of " + owner + " (version " + o.version + ") " + Arrays.toString(members)
              + " holds " + m + " whose latest version here is " + delivered.get(m) + " (after " + describe(e) + ")");
        }
      }
    }
  }

  private static String describe(CellEvent e) {
    return (e.kind() == CellEvent.UPSERT ? "upsert " : e.kind() == CellEvent.LEAVE ? "leave " : "delete ") + e.userId()
        + (e.kind() == CellEvent.UPSERT ? " in " + e.embeddingVersion() : "");
  }

  /** The user's pool at its home cell, or null when it is not pooled. */
  Candidates pool(long user) {
    UserRouter.State s = routerState.get(user);
    if (s == null || s.home() < 0) {
      return null;
    }
    CellIndex.Owned o = cells.get(s.home()).owned(user);
    return o == null ? null : o.candidates;
  }

  /** The embedding version the user's pool is computed in, or null when it is not pooled. */
  String poolEmbeddingVersion(long user) {
    UserRouter.State s = routerState.get(user);
    if (s == null || s.home() < 0) {
      return null;
    }
    CellIndex.Owned o = cells.get(s.home()).owned(user);
    return o == null ? null : o.version;
  }

  long rescans() {
    return cells.values().stream().mapToLong(CellVersions::rescans).sum();
  }
}
