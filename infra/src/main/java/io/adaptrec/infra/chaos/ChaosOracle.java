package io.adaptrec.infra.chaos;

import io.adaptrec.flink.UserRouter;
import io.adaptrec.flink.Vectors;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The brute-force side of the chaos checks: what the system's final state must be, recomputed from
 * scratch with no code shared with the roles (except the pools job's own dot product, so that
 * similarities are bit-identical and ties break the same way).
 *
 * <ul>
 *   <li>User history (the streams role's rules): a user's events in the order they were sent; an
 *       event more than {@code graceMs} behind the newest event already accepted for that user is
 *       late and dropped; the same (event time, item) counts once; the window is the last
 *       {@code windowLength} accepted events ordered by (event time, item id).
 *   <li>Similar-user pools (exact mode): among users whose final state has at least
 *       {@code minHistory} events and a usable embedding, each user's pool is the {@code poolSize}
 *       others with the same embedding version, by cosine similarity descending, then user id.
 * </ul>
 */
public final class ChaosOracle {
  private ChaosOracle() {}

  /** One interaction as sent (valid or not as far as lateness goes: the oracle applies the grace rule). */
  public record Sent(long userId, long itemId, long eventTime) {}

  /** One history entry, the part of {@code UserState} the check compares. */
  public record Entry(long itemId, long eventTime) {}

  /** The final history each user must have, oldest first. */
  public static Map<Long, List<Entry>> expectedHistories(List<Sent> sentInOrder, int windowLength, long graceMs) {
    Map<Long, TreeSet<Entry>> accepted = new LinkedHashMap<>();
    Map<Long, Long> newest = new HashMap<>();
    Comparator<Entry> order = Comparator.comparingLong(Entry::eventTime).thenComparingLong(Entry::itemId);
    for (Sent s : sentInOrder) {
      Long top = newest.get(s.userId());
      if (top != null && s.eventTime() < top - graceMs) {
        continue;   // late beyond grace: dead-lettered, never in the state
      }
      accepted.computeIfAbsent(s.userId(), u -> new TreeSet<>(order)).add(new Entry(s.itemId(), s.eventTime()));
      newest.merge(s.userId(), s.eventTime(), Math::max);
    }
    Map<Long, List<Entry>> out = new LinkedHashMap<>();
    accepted.forEach((user, set) -> {
      List<Entry> all = new ArrayList<>(set);
      out.put(user, List.copyOf(all.subList(Math.max(0, all.size() - windowLength), all.size())));
    });
    return out;
  }

  /** Differences between expected and actual histories of the users in {@code expected}. */
  public record HistoryDiff(long usersChecked, long usersMissing, long entriesLost, long entriesDoubled,
      long entriesUnexpected, List<String> examples) {
    public boolean equal() {
      return usersMissing == 0 && entriesLost == 0 && entriesDoubled == 0 && entriesUnexpected == 0;
    }
  }

  public static HistoryDiff compareHistories(Map<Long, List<Entry>> expected, Map<Long, List<Entry>> actual) {
    long missing = 0;
    long lost = 0;
    long doubled = 0;
    long unexpected = 0;
    List<String> examples = new ArrayList<>();
    for (Map.Entry<Long, List<Entry>> e : expected.entrySet()) {
      List<Entry> got = actual.get(e.getKey());
      if (got == null) {
        missing++;
        lost += e.getValue().size();
        note(examples, "user " + e.getKey() + ": no state (expected " + e.getValue().size() + " entries)");
        continue;
      }
      Set<Entry> want = new HashSet<>(e.getValue());
      Set<Entry> seen = new HashSet<>();
      for (Entry g : got) {
        if (!seen.add(g)) {
          doubled++;
          note(examples, "user " + e.getKey() + ": " + g + " twice");
        } else if (!want.contains(g)) {
          unexpected++;
          note(examples, "user " + e.getKey() + ": unexpected " + g);
        }
      }
      for (Entry w : e.getValue()) {
        if (!seen.contains(w)) {
          lost++;
          note(examples, "user " + e.getKey() + ": lost " + w);
        }
      }
    }
    return new HistoryDiff(expected.size(), missing, lost, doubled, unexpected, examples);
  }

  /** A user's final state as the pools check needs it. */
  public record FinalState(long userId, int historyLength, float[] embedding, String version) {}

  /** The pool each eligible user must have (user ids, most similar first); ineligible users are absent. */
  public static Map<Long, List<Long>> expectedPools(Iterable<FinalState> states, int poolSize, int minHistory) {
    Map<Long, float[]> units = new HashMap<>();
    Map<Long, String> versions = new HashMap<>();
    for (FinalState s : states) {
      if (s.historyLength() < minHistory || UserRouter.problem(s.embedding(), 0) != null) {
        continue;
      }
      units.put(s.userId(), Vectors.normalised(s.embedding()));
      versions.put(s.userId(), s.version());
    }
    Map<Long, List<Long>> pools = new HashMap<>();
    for (Map.Entry<Long, float[]> u : units.entrySet()) {
      long user = u.getKey();
      String version = versions.get(user);
      List<Long> others = new ArrayList<>();
      for (Map.Entry<Long, float[]> o : units.entrySet()) {
        if (o.getKey() != user && version.equals(versions.get(o.getKey())) && o.getValue().length == u.getValue().length) {
          others.add(o.getKey());
        }
      }
      Map<Long, Float> sim = new HashMap<>();
      others.forEach(o -> sim.put(o, Vectors.dot(u.getValue(), units.get(o))));
      // the pools job's order: similarity descending (plain float comparison), then user id
      others.sort((a, b) -> sim.get(a) > sim.get(b) ? -1 : sim.get(a) < sim.get(b) ? 1 : Long.compare(a, b));
      pools.put(user, List.copyOf(others.subList(0, Math.min(poolSize, others.size()))));
    }
    return pools;
  }

  /** Users whose actual pool differs from the expected one (absent or empty counts as no pool). */
  public static List<String> comparePools(Map<Long, List<Long>> expected, Map<Long, List<Long>> actual) {
    List<String> diffs = new ArrayList<>();
    Set<Long> users = new TreeSet<>(expected.keySet());
    actual.forEach((u, p) -> {
      if (!p.isEmpty()) {
        users.add(u);
      }
    });
    for (long u : users) {
      List<Long> want = expected.getOrDefault(u, List.of());
      List<Long> got = actual.getOrDefault(u, List.of());
      if (!want.equals(got)) {
        diffs.add("user " + u + ": pool " + got + ", brute force " + want);
      }
    }
    return diffs;
  }

  private static void note(List<String> examples, String s) {
    if (examples.size() < 10) {
      examples.add(s);
    }
  }
}
