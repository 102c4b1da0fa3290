package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class VectorsTest {

  /** The batched kernel must give the very bits of the row-at-a-time dot: exact pools and brute force break ties alike. */
  @Test
  void columnDotsAreBitIdenticalToRowDots() {
    Random r = new Random(7);
    for (int dim : new int[] {1, 3, 4, 5, 8, 31, 32, 33, 64, 100}) {
      int rows = 37;
      float[] packed = new float[rows * dim];
      float[][] cols = new float[dim][rows + 5];
      for (int j = 0; j < rows; j++) {
        for (int i = 0; i < dim; i++) {
          float x = (float) r.nextGaussian() * (r.nextInt(4) == 0 ? 1e-3f : 1f);
          packed[j * dim + i] = x;
          cols[i][j] = x;
        }
      }
      float[] q = new float[dim];
      for (int i = 0; i < dim; i++) {
        q[i] = (float) r.nextGaussian();
      }
      float[] out = new float[rows + 5];
      out[2] = 42f; // outside [from, to): must stay untouched
      Vectors.dots(q, cols, 3, rows, out);
      assertThat(out[2]).isEqualTo(42f);
      for (int j = 3; j < rows; j++) {
        assertThat(Float.floatToRawIntBits(out[j]))
            .as("dim %d row %d", dim, j)
            .isEqualTo(Float.floatToRawIntBits(Vectors.dot(q, packed, j)));
      }
    }
  }

  @Test
  void anEmptyRangeWritesNothing() {
    float[] out = {1f, 2f};
    Vectors.dots(new float[] {1f}, new float[][] {{5f, 6f}}, 1, 1, out);
    assertThat(out).containsExactly(1f, 2f);
  }
}
