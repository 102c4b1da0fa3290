package io.adaptrec.flink;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Keyed by user id. Decides whether a user-state record matters (eligible, embedding or its
 * embedding version really changed), numbers the change, and fans it out to the cells that must
 * see it: UPSERT to the new coverage, LEAVE to cells of the old coverage that are not in the new
 * one, DELETE to the whole old coverage when the user stops being pooled.
 *
 * <p>Keying by user keeps one user's changes in order all the way to every cell (one upstream
 * subtask per user, FIFO channels), which the cells' invariants rely on.
 */
public class UserRouter extends KeyedProcessFunction<Long, UserUpdate, CellEvent> {
  private static final long serialVersionUID = 1L;

  /** Records that cannot be pooled, with the reason; counted and routed by the job. */
  public static final OutputTag<Rejected> REJECTED = new OutputTag<>("rejected-user-state") {};

  /**
   * Per-user routing state: the change counter, the cells currently holding the user (home
   * first; empty while the user is not pooled), and a fingerprint of the embedding and its
   * embedding version (see {@link #fingerprint(float[], String)}).
   */
  public record State(long seq, int[] cover, long fingerprint) {
    public int home() {
      return cover.length == 0 ? -1 : cover[0];
    }
  }

  public record Rejected(long userId, String reason) {}

  /**
   * The reason for a user whose history has no item with a vector yet (the streams module then
   * publishes an empty embedding): normal, counted as {@code missingEmbeddings}, not a dead letter.
   */
  public static final String MISSING_EMBEDDING = "embedding is missing";

  /** What a record does: the events to send and the user's next state (null: nothing to do). */
  public record Routed(List<CellEvent> events, State next) {}

  private final Partitioner partitioner;
  private final int minHistory;
  private final int dim;

  private transient ValueState<State> state;
  private transient Counter unchanged;
  private transient Counter rejected;

  /** @param dim expected embedding dimension, or 0 to accept any (cells then check consistency) */
  public UserRouter(Partitioner partitioner, int minHistory, int dim) {
    this.partitioner = partitioner;
    this.minHistory = minHistory;
    this.dim = dim;
  }

  @Override
  public void open(OpenContext openContext) {
    state = getRuntimeContext().getState(new ValueStateDescriptor<>("router", State.class));
    unchanged = getRuntimeContext().getMetricGroup().counter("unchangedEmbeddings");
    rejected = getRuntimeContext().getMetricGroup().counter("rejectedRecords");
  }

  @Override
  public void processElement(UserUpdate in, Context ctx, Collector<CellEvent> out) throws Exception {
    float[] unit = null;
    boolean eligible = !in.deleted() && in.historyLength() >= minHistory;
    if (eligible) {
      String problem = problem(in.embedding());
      if (problem != null) {
        rejected.inc();
        ctx.output(REJECTED, new Rejected(in.userId(), problem));
        return;
      }
      unit = Vectors.normalised(in.embedding());
    }
    Routed routed = route(partitioner, state.value(), in, unit);
    if (routed == null) {
      if (eligible) {
        unchanged.inc();
      }
      return;
    }
    state.update(routed.next());
    for (CellEvent e : routed.events()) {
      out.collect(e);
    }
  }

  private String problem(float[] embedding) {
    return problem(embedding, dim);
  }

  /** Why an eligible user's embedding cannot be pooled, or null if it can ({@code dim} 0: any dimension). */
  public static String problem(float[] embedding, int dim) {
    if (embedding == null || embedding.length == 0) {
      return MISSING_EMBEDDING;
    }
    if (dim > 0 && embedding.length != dim) {
      return "embedding has " + embedding.length + " dimensions, embedding.dim is " + dim;
    }
    if (Vectors.normalised(embedding) == null) {
      return "embedding is all zeros or holds NaN/infinity";
    }
    return null;
  }

  /**
   * Pure routing decision. {@code unit} is the normalised embedding, or null when the user is not
   * (or no longer) eligible for pooling.
   */
  public static Routed route(Partitioner partitioner, State prev, UserUpdate in, float[] unit) {
    long seq = prev == null ? 0 : prev.seq();
    int[] oldCover = prev == null ? new int[0] : prev.cover();
    List<CellEvent> events = new ArrayList<>();
    if (unit == null) {
      if (oldCover.length == 0) {
        return null;
      }
      long next = seq + 1;
      for (int c : oldCover) {
        events.add(new CellEvent(c, CellEvent.DELETE, in.userId(), null, "", oldCover[0], next, in.producedAt()));
      }
      return new Routed(events, new State(next, new int[0], 0L));
    }
    String version = in.embeddingVersion() == null ? "" : in.embeddingVersion();
    long fp = fingerprint(unit, version);
    if (oldCover.length > 0 && prev.fingerprint() == fp) {
      return null;
    }
    long next = seq + 1;
    int[] cover = partitioner.coverage(in.userId(), unit);
    int home = cover[0];
    for (int c : cover) {
      events.add(new CellEvent(c, CellEvent.UPSERT, in.userId(), unit, version, home, next, in.producedAt()));
    }
    for (int c : oldCover) {
      if (!contains(cover, c)) {
        events.add(new CellEvent(c, CellEvent.LEAVE, in.userId(), null, "", home, next, in.producedAt()));
      }
    }
    return new Routed(events, new State(next, cover, fp));
  }

  /**
   * Fingerprint of a unit embedding together with its embedding version: a record is routed again
   * when either changes, so a user moving to a new version with a bit-identical vector still moves
   * to that version's pools.
   */
  static long fingerprint(float[] unit, String version) {
    long h = Vectors.fingerprint(unit);
    for (int i = 0; i < version.length(); i++) {
      h ^= version.charAt(i);
      h *= 0x100000001b3L;
      h ^= h >>> 29;
    }
    return h;
  }

  private static boolean contains(int[] cells, int c) {
    for (int x : cells) {
      if (x == c) {
        return true;
      }
    }
    return false;
  }
}
