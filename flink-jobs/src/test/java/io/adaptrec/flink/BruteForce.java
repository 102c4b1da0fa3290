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
}
