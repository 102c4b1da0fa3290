package io.adaptrec.flink;

import java.io.Serializable;

/**
 * Splits users into cells. A user is replicated to the cells of its coverage (its home first); a
 * cell owns the pools of the users homed in it and ranks them against every user replicated to
 * it. Exact mode makes every coverage the whole set of cells; the approximate modes make it a few
 * cells near the user's embedding, which is where both the speed and the recall loss come from.
 *
 * <p>Three implementations: {@link ExactSharding}, {@link IvfPartitioner}, {@link SimHashPartitioner}.
 * Implementations are immutable and shipped inside the job graph; changing one invalidates state
 * (homes are stored), so a job must be restored with the same partitioner.
 */
public interface Partitioner extends Serializable {

  /** Home cell of a user with the given unit-length embedding. */
  int home(long userId, float[] unitVector);

  /**
   * Cells that hold the user's embedding (so it is a candidate for the users homed there); the
   * first element is {@code home(userId, unitVector)}. Updates of the user go to exactly these
   * cells, and the router remembers them to tell cells the user leaves.
   */
  int[] coverage(long userId, float[] unitVector);

  /** All cell ids; they are also the Flink keys of the cell operator. */
  int[] cells();

  /** Short description for logs and benchmark reports. */
  String describe();
}
