package io.adaptrec.flink;

/** Dense float-vector arithmetic shared by the job, the brute-force checks and the benchmark. */
public final class Vectors {
  private Vectors() {}

  /**
   * Dot product of {@code a} with row {@code row} of a packed matrix. Four accumulators break the
   * floating-point dependency chain so the JIT can overlap multiplies (it will not reorder one
   * running sum by itself). Every similarity in the project, brute force included, goes through
   * this one function so that equal inputs give bit-identical similarities and ties break the
   * same way everywhere.
   */
  public static float dot(float[] a, float[] packed, int row) {
    int off = row * a.length;
    int d = a.length;
    float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
    int i = 0;
    for (; i + 3 < d; i += 4) {
      s0 += a[i] * packed[off + i];
      s1 += a[i + 1] * packed[off + i + 1];
      s2 += a[i + 2] * packed[off + i + 2];
      s3 += a[i + 3] * packed[off + i + 3];
    }
    for (; i < d; i++) {
      s0 += a[i] * packed[off + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  public static float dot(float[] a, float[] b) {
    return dot(a, b, 0);
  }

  /**
   * Returns a unit-length copy, so that a dot product is the cosine similarity of the paper's
   * stage 1; null when the vector has no direction (all zeros) or holds NaN/infinity.
   */
  public static float[] normalised(float[] v) {
    double sq = 0;
    for (float x : v) {
      if (!Float.isFinite(x)) {
        return null;
      }
      sq += (double) x * x;
    }
    if (sq == 0) {
      return null;
    }
    float inv = (float) (1.0 / Math.sqrt(sq));
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] * inv;
    }
    return out;
  }

  /** A 64-bit fingerprint of the exact float bits, used to skip re-routing unchanged embeddings. */
  public static long fingerprint(float[] v) {
    long h = 0xcbf29ce484222325L;
    for (float x : v) {
      h ^= Float.floatToIntBits(x);
      h *= 0x100000001b3L;
      h ^= h >>> 29;
    }
    return h;
  }
}
