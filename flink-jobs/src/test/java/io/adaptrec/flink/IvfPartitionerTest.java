package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IvfPartitionerTest {

  @Test
  void coverageIsTheTopProbesCentroidsByTheSameDotAsEverywhereElse() {
    SplittableRandom r = new SplittableRandom(7);
    int dim = 32;
    float[][] centroids = new float[300][];
    for (int i = 0; i < centroids.length; i++) {
      centroids[i] = randomUnit(r, dim);
    }
    centroids[17] = centroids[3].clone(); // an exact tie: broken by the lower list number
    IvfPartitioner ivf = new IvfPartitioner(centroids, 4);
    for (int n = 0; n < 1_000; n++) {
      float[] u = n == 0 ? centroids[3].clone() : randomUnit(r, dim);
      Candidates best = new Candidates(4);
      for (int i = 0; i < centroids.length; i++) {
        float s = Vectors.dot(u, Vectors.normalised(centroids[i]));
        if (best.size() < 4 || best.beatsLast(s, i)) {
          best.insert(i, s);
        }
      }
      int[] expected = new int[4];
      for (int k = 0; k < 4; k++) {
        expected[k] = (int) best.id(k);
      }
      assertThat(ivf.coverage(n, u)).as("user %d", n).containsExactly(expected);
    }
    assertThat(ivf.coverage(0, centroids[3].clone())).startsWith(3, 17);
  }

  private static float[] randomUnit(SplittableRandom r, int dim) {
    float[] v = new float[dim];
    for (int d = 0; d < dim; d++) {
      v[d] = (float) r.nextGaussian();
    }
    return Vectors.normalised(v);
  }
}
