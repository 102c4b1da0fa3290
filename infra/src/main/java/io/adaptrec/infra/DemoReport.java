package io.adaptrec.infra;

import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.worker.data.Dataset;
import java.io.PrintWriter;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The readable end of {@code adaptrec demo}: counts, latencies, and one user's history and pool. */
final class DemoReport {
  private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneOffset.UTC);

  private DemoReport() {}

  static void print(PrintWriter out, Dataset dataset, long datasetUsers, Replayer.Summary replay,
      Map<String, Long> streamCounters, PipelineWatcher.Snapshot seen, long checkpointMs, double caughtUpSeconds) {
    Map<Long, Dataset.Item> catalogue = dataset.items().stream()
        .collect(Collectors.toMap(Dataset.Item::itemId, Function.identity(), (a, b) -> a));
    out.println();
    out.println("== AdaptRec demo on " + dataset.name() + " ==");
    out.printf("Replay      %,d items and %,d interactions of %,d users in %.1f s (%,.0f events/s)%n",
        replay.items(), replay.interactions(), datasetUsers, replay.seconds(), replay.eventsPerSecond());
    out.printf("Streams     %,d interactions processed -> %,d user-state updates for %,d users"
            + " (duplicates %,d, late %,d, dead letters %,d)%n",
        streamCounters.getOrDefault("interactions", -1L), seen.stateRecords(), seen.states().size(),
        streamCounters.getOrDefault("duplicates", 0L), streamCounters.getOrDefault("late_beyond_grace", 0L),
        streamCounters.getOrDefault("dead_lettered", 0L));
    double meanPool = seen.pools().values().stream().mapToInt(p -> p.getNeighbours().size()).average().orElse(0);
    out.printf("Pools       %,d pool updates; %,d users have a pool (mean size %.1f)%n",
        seen.poolRecords(), seen.pools().size(), meanPool);
    out.printf("Caught up   last pool update %.1f s after the replay ended%n", caughtUpSeconds);
    out.println("Latency     " + latencyLine("interaction -> user-state", seen.stateLatenciesMs()));
    out.println("            " + latencyLine("interaction -> user-pool ", seen.poolLatenciesMs())
        + "   (pools are exactly-once: visible per " + checkpointMs + " ms checkpoint)");
    out.println("            (measured while replaying as fast as possible, so they include queueing behind the backlog)");
    sampleUser(seen).ifPresent(user -> printUser(out, user, seen, catalogue));
  }

  static String latencyLine(String label, long[] sortedMs) {
    if (sortedMs.length == 0) {
      return label + "  no records";
    }
    return String.format("%s  p50 %,d ms  p95 %,d ms  p99 %,d ms  max %,d ms  (%,d records)", label,
        PipelineWatcher.percentile(sortedMs, 0.50), PipelineWatcher.percentile(sortedMs, 0.95),
        PipelineWatcher.percentile(sortedMs, 0.99), sortedMs[sortedMs.length - 1], sortedMs.length);
  }

  /** The pooled user with the longest history (lowest id on ties): the richest example. */
  static Optional<Long> sampleUser(PipelineWatcher.Snapshot seen) {
    return seen.pools().keySet().stream()
        .filter(seen.states()::containsKey)
        .max(Comparator.<Long>comparingInt(u -> seen.states().get(u).getHistory().size())
            .thenComparing(Comparator.<Long>reverseOrder()));
  }

  private static void printUser(PrintWriter out, long user, PipelineWatcher.Snapshot seen, Map<Long, Dataset.Item> catalogue) {
    UserState state = seen.states().get(user);
    SimilarUserPool pool = seen.pools().get(user);
    List<HistoryEntry> history = state.getHistory();
    out.println();
    out.printf("Sample user %d: history window of %d items (embedding %s, dim %d), newest last:%n", user, history.size(),
        state.getEmbeddingVersion(), state.getEmbedding().size());
    for (HistoryEntry h : history.subList(Math.max(0, history.size() - 10), history.size())) {
      out.printf("  %s  %-48s %s%n", DAY.format(h.getEventTime()), title(catalogue, h.getItemId()),
          h.getRating() == null ? "" : "rated " + fmt(h.getRating()));
    }
    out.printf("Similar-user pool (%d neighbours, version %s):%n", pool.getNeighbours().size(), pool.getVersion());
    for (Neighbour n : pool.getNeighbours().subList(0, Math.min(5, pool.getNeighbours().size()))) {
      UserState ns = seen.states().get(n.getUserId());
      String recent = ns == null ? "" : ns.getHistory().subList(Math.max(0, ns.getHistory().size() - 3), ns.getHistory().size())
          .stream().map(h -> title(catalogue, h.getItemId())).collect(Collectors.joining("; "));
      out.printf("  user %-6d similarity %.3f   recently: %s%n", n.getUserId(), n.getSimilarity(), recent);
    }
    if (pool.getNeighbours().size() > 5) {
      out.printf("  ... and %d more%n", pool.getNeighbours().size() - 5);
    }
  }

  private static String title(Map<Long, Dataset.Item> catalogue, long itemId) {
    Dataset.Item it = catalogue.get(itemId);
    String t = it == null ? "item " + itemId : it.title();
    return t.length() > 48 ? t.substring(0, 45) + "..." : t;
  }

  private static String fmt(float rating) {
    return rating == Math.rint(rating) ? Integer.toString((int) rating) : Float.toString(rating);
  }
}
