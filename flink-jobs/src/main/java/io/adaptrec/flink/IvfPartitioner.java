package io.adaptrec.flink;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * IVF mode: cells are the Voronoi cells of k-means centroids trained on a sample of user
 * embeddings (spherical k-means, since similarity is cosine). A user is homed at its nearest
 * centroid and replicated to its {@code probes} nearest centroids, so a user v is ranked against
 * every user u whose own {@code probes} nearest centroids include v's home. This is IVF with
 * redundant assignment (as in SPANN) rather than multi-probe at query time: the probing is paid
 * once per update on the write side, which is what lets both directions of the incremental
 * maintenance (u's own pool, and u entering/leaving others' pools) stay local to one cell.
 *
 * <p>Why IVF over plain LSH: cells follow the data, so they are balanced where users are dense and
 * a user's nearest neighbours mostly share its nearest centroids; recall is tuned with one knob
 * ({@code probes}) at a cost linear in it. The centroids must stay fixed for the life of the job's
 * state (homes are stored), so they are a file, trained once and reused on every restart.
 */
public final class IvfPartitioner implements Partitioner {
  private static final long serialVersionUID = 1L;

  private final int dim;
  private final int lists;
  private final int probes;
  private final float[] centroids; // [lists][dim], unit length
  // the same centroids column by column (cols[d][list]), so that one user is scored against all of
  // them in one SIMD pass (Vectors.dots, bit-identical to Vectors.dot row by row); built on first use
  private transient float[][] cols;

  public IvfPartitioner(float[][] centroidRows, int probes) {
    if (centroidRows.length < 1) {
      throw new IllegalArgumentException("ivf needs at least one centroid");
    }
    if (probes < 1 || probes > centroidRows.length) {
      throw new IllegalArgumentException(
          "ivf.probes must be in [1, " + centroidRows.length + "] (the number of lists), was " + probes);
    }
    this.dim = centroidRows[0].length;
    this.lists = centroidRows.length;
    this.probes = probes;
    this.centroids = new float[lists * dim];
    for (int i = 0; i < lists; i++) {
      float[] unit = Vectors.normalised(centroidRows[i]);
      if (unit == null || unit.length != dim) {
        throw new IllegalArgumentException("centroid " + i + " is zero, non-finite or has the wrong dimension");
      }
      System.arraycopy(unit, 0, centroids, i * dim, dim);
    }
  }

  @Override
  public int home(long userId, float[] unitVector) {
    return coverage(userId, unitVector)[0];
  }

  @Override
  public int[] coverage(long userId, float[] unitVector) {
    if (unitVector.length != dim) {
      throw new IllegalArgumentException("embedding has " + unitVector.length + " dimensions, ivf centroids have " + dim);
    }
    float[] sims = new float[lists];
    Vectors.dots(unitVector, columns(), 0, lists, sims);
    Candidates best = new Candidates(probes);
    for (int i = 0; i < lists; i++) {
      float s = sims[i];
      if (best.size() < probes || best.beatsLast(s, i)) {
        best.insert(i, s);
      }
    }
    int[] out = new int[best.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (int) best.id(i);
    }
    return out;
  }

  private float[][] columns() {
    float[][] c = cols;
    if (c == null) {
      c = new float[dim][lists];
      for (int i = 0; i < lists; i++) {
        for (int d = 0; d < dim; d++) {
          c[d][i] = centroids[i * dim + d];
        }
      }
      cols = c; // a benign race: every thread builds the same array
    }
    return c;
  }

  @Override
  public int[] cells() {
    int[] all = new int[lists];
    for (int i = 0; i < lists; i++) {
      all[i] = i;
    }
    return all;
  }

  public int dim() {
    return dim;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "ivf(lists=%d, probes=%d)", lists, probes);
  }

  /**
   * Spherical k-means (Lloyd iterations on unit vectors, centroids re-normalised). Empty clusters
   * are re-seeded from a random sample point so every list stays in use.
   */
  public static float[][] train(float[][] sample, int lists, int iterations, long seed) {
    if (sample.length < lists) {
      throw new IllegalArgumentException(
          "ivf training needs at least ivf.lists=" + lists + " embeddings, got " + sample.length);
    }
    int dim = sample[0].length;
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] c = new float[lists * dim];
    int[] perm = rnd.ints(0, sample.length).distinct().limit(lists).toArray();
    for (int i = 0; i < lists; i++) {
      System.arraycopy(sample[perm[i]], 0, c, i * dim, dim);
    }
    int[] assign = new int[sample.length];
    for (int it = 0; it < iterations; it++) {
      for (int p = 0; p < sample.length; p++) {
        int best = 0;
        float bestSim = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < lists; i++) {
          float s = Vectors.dot(sample[p], c, i);
          if (s > bestSim) {
            bestSim = s;
            best = i;
          }
        }
        assign[p] = best;
      }
      double[] sum = new double[lists * dim];
      int[] count = new int[lists];
      for (int p = 0; p < sample.length; p++) {
        count[assign[p]]++;
        for (int d = 0; d < dim; d++) {
          sum[assign[p] * dim + d] += sample[p][d];
        }
      }
      for (int i = 0; i < lists; i++) {
        float[] row = new float[dim];
        if (count[i] == 0) {
          row = sample[rnd.nextInt(sample.length)].clone();
        } else {
          for (int d = 0; d < dim; d++) {
            row[d] = (float) sum[i * dim + d];
          }
        }
        float[] unit = Vectors.normalised(row);
        System.arraycopy(unit == null ? sample[rnd.nextInt(sample.length)] : unit, 0, c, i * dim, dim);
      }
    }
    float[][] rows = new float[lists][];
    for (int i = 0; i < lists; i++) {
      rows[i] = Arrays.copyOfRange(c, i * dim, (i + 1) * dim);
    }
    return rows;
  }

  /** Centroid file: a header line {@code ivf <lists> <dim>}, then one centroid per line. */
  public static void write(Path file, float[][] rows) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("ivf " + rows.length + " " + rows[0].length + "\n");
      for (float[] row : rows) {
        StringBuilder b = new StringBuilder();
        for (int d = 0; d < row.length; d++) {
          b.append(d == 0 ? "" : " ").append(row[d]);
        }
        w.write(b.append('\n').toString());
      }
    }
  }

  public static float[][] read(Path file) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String[] head = r.readLine().trim().split("\\s+");
      if (head.length != 3 || !head[0].equals("ivf")) {
        throw new IOException(file + ":1: expected header 'ivf <lists> <dim>'");
      }
      int lists = Integer.parseInt(head[1]);
      int dim = Integer.parseInt(head[2]);
      float[][] rows = new float[lists][dim];
      for (int i = 0; i < lists; i++) {
        String line = r.readLine();
        String[] parts = line == null ? new String[0] : line.trim().split("\\s+");
        if (parts.length != dim) {
          throw new IOException(file + ":" + (i + 2) + ": expected " + dim + " floats, found " + parts.length);
        }
        for (int d = 0; d < dim; d++) {
          rows[i][d] = Float.parseFloat(parts[d]);
        }
      }
      return rows;
    }
  }
}
