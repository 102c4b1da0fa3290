package io.adaptrec.flink;

import java.util.Arrays;

/**
 * A user's candidate list: neighbours sorted best first under the total order
 * (similarity descending, then user id ascending), bounded by a capacity K larger than the pool
 * size N.
 *
 * <p>Invariant kept by {@link CellIndex}: the list is the exact top-{@code size()} of the user's
 * candidate universe. The K - N spare entries are what lets a pool refill itself when members
 * move away without re-querying; a re-query happens only once fewer than N remain.
 */
public final class Candidates {
  private long[] ids;
  private float[] sims;
  private int size;

  public Candidates(int capacity) {
    ids = new long[capacity];
    sims = new float[capacity];
  }

  public int size() {
    return size;
  }

  public long id(int i) {
    return ids[i];
  }

  public float sim(int i) {
    return sims[i];
  }

  public int capacity() {
    return ids.length;
  }

  /** True when (simA, idA) ranks strictly before (simB, idB). */
  public static boolean ranksBefore(float simA, long idA, float simB, long idB) {
    return simA > simB || (simA == simB && idA < idB);
  }

  public int indexOf(long id) {
    for (int i = 0; i < size; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }

  public void removeAt(int pos) {
    System.arraycopy(ids, pos + 1, ids, pos, size - pos - 1);
    System.arraycopy(sims, pos + 1, sims, pos, size - pos - 1);
    size--;
  }

  /** True when the entry would rank before the current last entry (or the list is empty). */
  public boolean beatsLast(float sim, long id) {
    return size == 0 || ranksBefore(sim, id, sims[size - 1], ids[size - 1]);
  }

  /**
   * Inserts in rank order; when full, the last entry falls off (still an exact top-K). Returns the
   * insert position, or -1 when the entry ranks after a full list.
   */
  public int insert(long id, float sim) {
    int cap = ids.length;
    if (size == cap && !beatsLast(sim, id)) {
      return -1;
    }
    int pos = size;
    while (pos > 0 && ranksBefore(sim, id, sims[pos - 1], ids[pos - 1])) {
      pos--;
    }
    int moved = Math.min(size, cap - 1) - pos;
    if (moved > 0) {
      System.arraycopy(ids, pos, ids, pos + 1, moved);
      System.arraycopy(sims, pos, sims, pos + 1, moved);
    }
    ids[pos] = id;
    sims[pos] = sim;
    if (size < cap) {
      size++;
    }
    return pos;
  }

  public void clear() {
    size = 0;
  }

  public long[] topIds(int n) {
    return Arrays.copyOf(ids, Math.min(n, size));
  }

  public float[] topSims(int n) {
    return Arrays.copyOf(sims, Math.min(n, size));
  }

  /** True when the first n entries (ids and similarities) equal the given snapshot. */
  public boolean topEquals(int n, long[] otherIds, float[] otherSims) {
    int m = Math.min(n, size);
    if (m != otherIds.length) {
      return false;
    }
    for (int i = 0; i < m; i++) {
      if (ids[i] != otherIds[i] || Float.floatToIntBits(sims[i]) != Float.floatToIntBits(otherSims[i])) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < size; i++) {
      b.append(i == 0 ? "" : ", ").append(ids[i]).append(':').append(sims[i]);
    }
    return b.append(']').toString();
  }
}
