package io.adaptrec.flink;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Drives the job's plain-Java core (routing and {@link CellIndex}) the way the Flink job does,
 * without Flink: one FIFO queue per cell, delivered in a random interleaving, as parallel subtasks
 * would. Used by the property test and the recall tests.
 */
final class PoolSimulator {
  final Partitioner partitioner;
  final int poolSize;
  final int capacity;
  final int minHistory;
  final Map<Long, UserRouter.State> routerState = new HashMap<>();
  final Map<Integer, CellIndex> cells = new HashMap<>();
  private final Map<Integer, ArrayDeque<CellEvent>> queues = new HashMap<>();
  private final Random interleaving;

  PoolSimulator(Partitioner partitioner, int poolSize, int capacity, int minHistory, long seed) {
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
    CellIndex idx = cells.get(e.cell());
    if (e.kind() == CellEvent.UPSERT) {
      if (idx == null) {
        idx = new CellIndex(e.vector().length, poolSize, capacity);
        cells.put(e.cell(), idx);
      }
      idx.upsert(e.userId(), e.vector(), e.home() == e.cell(), e.seq(), e.embeddingVersion());
    } else if (idx != null) {
      idx.remove(e.userId());
    }
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

  long rescans() {
    return cells.values().stream().mapToLong(CellIndex::rescans).sum();
  }
}
