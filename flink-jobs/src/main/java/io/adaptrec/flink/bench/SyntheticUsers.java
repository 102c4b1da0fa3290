package io.adaptrec.flink.bench;

import io.adaptrec.flink.UserUpdate;
import io.adaptrec.flink.Vectors;
import java.util.SplittableRandom;

/**
 * Deterministic synthetic user-state stream with the structure of AdaptRec's sequence embeddings:
 * items belong to taste topics (item vector = topic centre + noise); each user has a primary and a
 * secondary taste and a sliding window of {@link #WINDOW} items drawn from them; the user's
 * embedding is the normalised mean of its window's item vectors. Record i < users is user i's
 * first state; every later record replaces the oldest item of a random user's window, so
 * embeddings drift the way they do when users keep interacting.
 *
 * <p>Stateful and sequential: one instance generates one stream in order (source parallelism 1);
 * a second instance with the same seed replays it, e.g. to compute the final embeddings.
 */
public final class SyntheticUsers {
  public static final int WINDOW = 10;

  private final int users;
  private final int dim;
  private final int topics;
  private final int itemsPerTopic;
  private final float[] items; // [topics * itemsPerTopic][dim]
  private final int[] primary;
  private final int[] secondary;
  private final int[] window; // [users][WINDOW] item ids
  private final byte[] oldest;
  private final SplittableRandom rnd;
  private long produced;

  public SyntheticUsers(int users, int dim, long seed) {
    this.users = users;
    this.dim = dim;
    this.topics = Math.max(8, (int) Math.round(Math.sqrt(users) / 2));
    this.itemsPerTopic = 100;
    SplittableRandom r = new SplittableRandom(seed);
    float[] centres = new float[topics * dim];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = (float) gaussian(r);
    }
    items = new float[topics * itemsPerTopic * dim];
    float[] v = new float[dim];
    double noise = 0.8 * Math.sqrt(1.0 / dim);
    for (int t = 0; t < topics; t++) {
      float[] c = Vectors.normalised(java.util.Arrays.copyOfRange(centres, t * dim, (t + 1) * dim));
      for (int k = 0; k < itemsPerTopic; k++) {
        for (int d = 0; d < dim; d++) {
          v[d] = c[d] + (float) (noise * gaussian(r));
        }
        System.arraycopy(Vectors.normalised(v), 0, items, (t * itemsPerTopic + k) * dim, dim);
      }
    }
    primary = new int[users];
    secondary = new int[users];
    window = new int[users * WINDOW];
    oldest = new byte[users];
    for (int u = 0; u < users; u++) {
      primary[u] = r.nextInt(topics);
      secondary[u] = r.nextInt(topics);
    }
    rnd = r.split();
  }

  static double gaussian(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  public int users() {
    return users;
  }

  public int topics() {
    return topics;
  }

  private int drawItem(int u) {
    int topic = rnd.nextDouble() < 0.7 ? primary[u] : secondary[u];
    return topic * itemsPerTopic + rnd.nextInt(itemsPerTopic);
  }

  /** The next record of the stream, stamped with {@code producedAt}. */
  public UserUpdate next(long producedAt) {
    int u;
    if (produced < users) {
      u = (int) produced;
      for (int s = 0; s < WINDOW; s++) {
        window[u * WINDOW + s] = drawItem(u);
      }
    } else {
      u = rnd.nextInt(users);
      window[u * WINDOW + oldest[u]] = drawItem(u);
      oldest[u] = (byte) ((oldest[u] + 1) % WINDOW);
    }
    produced++;
    return UserUpdate.upsert(u, embedding(u), "synthetic-v1", WINDOW, producedAt);
  }

  /** The item ids in user u's current window, in slot order (the Kafka path writes them as the history). */
  public int[] window(int u) {
    return java.util.Arrays.copyOfRange(window, u * WINDOW, (u + 1) * WINDOW);
  }

  /** The current (normalised) embedding of user u. */
  public float[] embedding(int u) {
    float[] sum = new float[dim];
    for (int s = 0; s < WINDOW; s++) {
      int off = window[u * WINDOW + s] * dim;
      for (int d = 0; d < dim; d++) {
        sum[d] += items[off + d];
      }
    }
    return Vectors.normalised(sum);
  }
}
