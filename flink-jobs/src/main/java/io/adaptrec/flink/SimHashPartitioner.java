package io.adaptrec.flink;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * LSH mode: random-hyperplane (SimHash) buckets. A user's home is the sign pattern of its
 * embedding against {@code bits} random hyperplanes, and it is replicated to the Hamming ball of
 * radius {@code radius} around it (multi-probe LSH). The ball is symmetric: two users are
 * candidates of each other exactly when their codes differ in at most {@code radius} bits.
 *
 * <p>Needs no training, which is its appeal; the price is recall: two users at cosine c agree on a
 * bit with probability 1 - arccos(c)/pi, so with enough bits to keep cells small, moderately
 * similar neighbours often land outside the probed ball. {@link IvfPartitioner} adapts its cells
 * to the data and reaches higher recall at the same cost; both are measured by the benchmark.
 */
public final class SimHashPartitioner implements Partitioner {
  private static final long serialVersionUID = 1L;

  private final int bits;
  private final int radius;
  private final float[] planes; // [bits][dim]
  private final int dim;
  private final int[][] ball;

  public SimHashPartitioner(int dim, int bits, int radius, long seed) {
    if (bits < 1 || bits > 20) {
      throw new IllegalArgumentException("lsh.bits must be in [1, 20], was " + bits);
    }
    if (radius < 0 || radius > bits) {
      throw new IllegalArgumentException("lsh.radius must be in [0, lsh.bits], was " + radius);
    }
    this.bits = bits;
    this.radius = radius;
    this.dim = dim;
    this.planes = new float[bits * dim];
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < planes.length; i++) {
      planes[i] = (float) gaussian(rnd);
    }
    this.ball = new int[1 << bits][];
  }

  static double gaussian(SplittableRandom rnd) {
    double u1 = rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  @Override
  public int home(long userId, float[] unitVector) {
    if (unitVector.length != dim) {
      throw new IllegalArgumentException("embedding has " + unitVector.length + " dimensions, lsh planes have " + dim);
    }
    int code = 0;
    for (int b = 0; b < bits; b++) {
      if (Vectors.dot(unitVector, planes, b) >= 0) {
        code |= 1 << b;
      }
    }
    return code;
  }

  /** The Hamming ball around a code: the multi-probe set, the code itself first. */
  synchronized int[] neighbourhood(int cell) {
    int[] n = ball[cell];
    if (n == null) {
      List<Integer> out = new ArrayList<>();
      collect(cell, 0, radius, out);
      n = out.stream().mapToInt(Integer::intValue).toArray();
      ball[cell] = n;
    }
    return n;
  }

  private void collect(int code, int fromBit, int flipsLeft, List<Integer> out) {
    out.add(code);
    if (flipsLeft == 0) {
      return;
    }
    for (int b = fromBit; b < bits; b++) {
      collect(code ^ (1 << b), b + 1, flipsLeft - 1, out);
    }
  }

  @Override
  public int[] coverage(long userId, float[] unitVector) {
    return neighbourhood(home(userId, unitVector));
  }

  @Override
  public int[] cells() {
    int[] all = new int[1 << bits];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return all;
  }

  @Override
  public String describe() {
    return "lsh(bits=" + bits + ", radius=" + radius + ", probes=" + neighbourhood(0).length + ")";
  }
}
