package io.adaptrec.flink;

import java.util.Map;
import java.util.Set;

/** Reference Top-N by scanning every pair, with the job's similarity function and tie order. */
final class BruteForce {
  private BruteForce() {}

  /** Top-n of {@code user} among {@code units} (user id -> unit vector), excluding itself. */
  static Candidates topN(long user, Map<Long, float[]> units, int n) {
    Candidates c = new Candidates(n);
    float[] q = units.get(user);
    for (Map.Entry<Long, float[]> e : units.entrySet()) {
      if (e.getKey() != user) {
        c.insert(e.getKey(), Vectors.dot(q, e.getValue()));
      }
    }
    return c;
  }

  /**
   * Top-n of {@code user} among the users whose embedding is in the same version as its own
   * ({@code versions}: user id -> embedding version): the job never pools across versions.
   */
  static Candidates topNInVersion(long user, Map<Long, float[]> units, Map<Long, String> versions, int n) {
    return topNInVersion(user, units, versions, Set.of(), n);
  }

  /**
   * Like {@link #topNInVersion(long, Map, Map, int)} with {@code pool.exclude-members}: the
   * candidates are the users of the owner's version that are not in {@code excluded}; the owner
   * itself may be excluded (it still gets a pool).
   */
  static Candidates topNInVersion(long user, Map<Long, float[]> units, Map<Long, String> versions, Set<Long> excluded, int n) {
    Map<Long, float[]> same = new java.util.HashMap<>();
    String v = versions.get(user);
    units.forEach((id, unit) -> {
      if (v.equals(versions.get(id)) && (id == user || !excluded.contains(id))) {
        same.put(id, unit);
      }
    });
    return topN(user, same, n);
  }
}
