package io.adaptrec.flink;

import java.util.Map;

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
    Map<Long, float[]> same = new java.util.HashMap<>();
    String v = versions.get(user);
    units.forEach((id, unit) -> {
      if (v.equals(versions.get(id))) {
        same.put(id, unit);
      }
    });
    return topN(user, same, n);
  }
}
