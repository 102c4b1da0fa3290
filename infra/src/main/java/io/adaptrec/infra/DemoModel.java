package io.adaptrec.infra;

import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.UserState;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.model.Demonstration;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Strategy;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The model part of the demo: trains RecLM (the worker's {@link RecLMSystem}: stage A sequence
 * pre-training, stage B prompts, stage C LoRA with self-adaptive selection) on the same dataset,
 * then recommends for the sample user from the history the <em>streams role</em> produced,
 * showing the demonstrations the model picked (stage 2) and the ranked candidates (stage 3).
 * The schedule is demo-sized; {@code adaptrec train} / {@code eval} give the real numbers.
 */
final class DemoModel {
  /** Candidates ranked for the sample user, as in the paper's protocol (20 = 1 list the model must order). */
  static final int CANDIDATES = 20;
  static final int M = 5;

  /** What the model said about one user. */
  record Recommendation(long userId, List<Long> history, List<Demonstration> demonstrations, List<Long> ranked,
      Map<Long, Float> scores, double trainSeconds) {}

  private DemoModel() {}

  /**
   * @param epochs stage A, B and C epochs
   * @param promptsPerUser prompts per user and epoch in stages B and C (their cost is linear in it)
   */
  static Recommendation trainAndRecommend(Dataset dataset, UserState state, int[] epochs, int promptsPerUser, long seed,
      PrintWriter log) {
    // never download natives; two intra-op threads on the team's two-core machines (same as the worker's CLI)
    System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
    System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "2"));
    Split split = Split.create(dataset, Protocol.LOO);
    TrainConfig d = TrainConfig.defaults();
    TrainConfig tc = d.withSeed((int) seed).withEpochs(epochs[0], epochs[1], epochs[2], 0).withM(M)
        .withLoss(d.candWeight(), d.lmWeight(), promptsPerUser);
    long t0 = System.nanoTime();
    try (RecLMSystem sys = RecLMSystem.train(split.trainingData(seed), RecLMConfig.small(), tc, line -> {
      log.println("  " + line);
      log.flush();
    })) {
      double seconds = (System.nanoTime() - t0) / 1e9;
      long user = state.getUserId();
      long[] history = state.getHistory().stream().mapToLong(HistoryEntry::getItemId).toArray();
      long[] candidates = unseenCandidates(dataset, user, seed);
      AdaptRec.Recommendation rec = sys.recommend(List.of(new AdaptRec.Query(user, history, candidates)),
          Strategy.ADAPTIVE, M).get(0);
      List<Demonstration> demos = rec.demonstrations().stream().map(DemoSelector.Selected::demonstration).toList();
      float[] scores = rec.scores();
      Map<Long, Float> byItem = new java.util.HashMap<>();
      for (int i = 0; i < candidates.length; i++) {
        byItem.put(candidates[i], scores[i]);
      }
      List<Long> ranked = byItem.keySet().stream()
          .sorted(Comparator.comparing((Long i) -> byItem.get(i)).reversed().thenComparing(Function.identity())).toList();
      List<Long> hist = new ArrayList<>();
      for (long h : history) {
        hist.add(h);
      }
      return new Recommendation(user, hist, demos, ranked, byItem, seconds);
    }
  }

  /** {@value #CANDIDATES} items the user never interacted with, drawn with a fixed seed. */
  static long[] unseenCandidates(Dataset dataset, long user, long seed) {
    Set<Long> seen = dataset.interactions().stream().filter(e -> e.userId() == user)
        .map(Dataset.Event::itemId).collect(Collectors.toSet());
    List<Long> pool = dataset.items().stream().map(Dataset.Item::itemId).filter(i -> !seen.contains(i))
        .sorted().collect(Collectors.toList());
    java.util.Collections.shuffle(pool, new Random(seed * 31 + user));
    return pool.stream().limit(CANDIDATES).mapToLong(Long::longValue).toArray();
  }

  static void print(PrintWriter out, Recommendation r, Map<Long, Dataset.Item> catalogue) {
    out.printf("%nRecLM (trained in %.1f s) for user %d, from the history the streams role built:%n", r.trainSeconds(), r.userId());
    out.println("  demonstrations the model selected (stage 2, self-adaptive, M=" + M + "):");
    for (Demonstration d : r.demonstrations()) {
      out.printf("    user %-6d watched %d items, then chose %s%n", d.userId(), d.watched().length, title(catalogue, d.choice()));
    }
    out.printf("  top 5 of %d unseen candidates (stage 3, scored by the model):%n", r.ranked().size());
    for (int i = 0; i < Math.min(5, r.ranked().size()); i++) {
      long item = r.ranked().get(i);
      out.printf("    %d. %-48s log-prob %.3f%n", i + 1, title(catalogue, item), r.scores().get(item));
    }
  }

  private static String title(Map<Long, Dataset.Item> catalogue, long itemId) {
    Dataset.Item it = catalogue.get(itemId);
    return it == null ? "item " + itemId : it.title();
  }
}
