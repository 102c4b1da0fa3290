package io.adaptrec.infra;

import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.client.RecClient;
import io.adaptrec.worker.cli.EvalCommand;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.EvalReport;
import io.adaptrec.worker.eval.EvalRunner;
import io.adaptrec.worker.eval.Holdout;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Query;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.RecommenderFactory;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.Stage;
import io.adaptrec.worker.eval.UserSequence;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Neighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import io.adaptrec.worker.serving.Worker;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code eval --through-pipeline}: the offline evaluation run through the real system, next to
 * the offline evaluation of the same model, query by query.
 *
 * <p>What reaches the system: every interaction the protocol knows before the evaluated targets
 * ({@link #knownEvents}), replayed into {@code interactions} in event-time order before any query,
 * as the offline stage 1 also sees all of them. Under {@code llara} the held-out users' histories
 * reach the system (they are the queries) but the pools job is told never to make them anyone's
 * pool member ({@code pool.exclude-members}), as offline only training users are pooled. Streams builds each user's window (L = 20) and
 * sequence embedding in the model's item space (the worker publishes its item embeddings at
 * start; the benchmark waits for the migration), Flink keeps exact Top-10 pools, and every test
 * query goes out as a {@code rec-request} with its 20 candidates and {@code k = 20}.
 *
 * <p>Making the two sides equal on purpose: the live stage 1 is the definition both use. A user's
 * pool is the Top-N by cosine of the mean model embedding of their last 20 known items (Streams'
 * window, plain mean), among users with at least the pools job's minimum history, never the user;
 * a member's demonstration comes from their last 20 known items. The offline side builds exactly
 * that from the same events ({@link #windowNeighbourhood}) and runs the same {@link AdaptRec} core
 * on the same model, so any difference in a ranking is the pipeline's (float rounding in two
 * implementations of the mean and cosine, batch composition), reported as
 * {@code identical_rankings}.
 */
final class PipelineEval implements EvalCommand.PipelineRunner {

  /** Streams' window L and the pools job's minimum history, the live stage-1 definition. */
  static final int WINDOW = 20;
  static final int MIN_HISTORY = 3;

  private final PrintStream out;

  PipelineEval(PrintStream out) {
    this.out = out;
  }

  @Override
  public int run(EvalCommand.PipelineRequest req) throws Exception {
    Split split = Split.create(req.data(), req.protocol());
    Stage stage = req.config().stage();
    Map<Long, long[]> known = new LinkedHashMap<>();
    Set<Long> excluded = new TreeSet<>();
    Dataset replay = knownEvents(split, req.data(), stage, known, excluded);
    Path modelDir = req.model();
    if (modelDir == null) {
      modelDir = Files.createTempDirectory("adaptrec-pipeline-model");
      out.println("training RecLM on the " + split.summary() + " training split ...");
      try (RecLMSystem sys = RecLMSystem.train(split.trainingData(req.config().seeds().get(0)), req.modelConfig(),
          req.training().apply(req.config().seeds().get(0)), out::println)) {
        sys.save(modelDir, "v1", Map.of());
      }
    }
    RecLMSystem.Variant variant = req.variants().get(0);
    StackConfig stackConfig = StackConfig.defaults().withFreePorts()
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER)).withModel(modelDir);
    if (!excluded.isEmpty()) {
      // llara: the held-out users get pools but are never anyone's demonstration, as offline
      stackConfig = stackConfig.withRoleSettings(Role.POOLS, Map.of("pool.exclude-members",
          excluded.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","))));
    }
    try (LocalStack stack = LocalStack.start(stackConfig.withRoleSettings(Role.WORKER, Map.of(
        "serving.selection.strategy", variant.strategy().name().toLowerCase(java.util.Locale.ROOT),
        "serving.selection.m", Integer.toString(variant.m()),
        "serving.request.deadline.ms", "600000")))) {
      Worker worker = stack.worker().orElseThrow();
      long t0 = System.nanoTime();
      new Replayer(stack.topics(), stack.bootstrapServers(), stack.clientSettings(), Replayer.Options.fastest(), System.err)
          .replay(replay, 0);
      long[] users = known.keySet().stream().mapToLong(Long::longValue).toArray();
      String pooled = ServingBenchmark.awaitModelSpacePools(worker, pooledUsers(known), Duration.ofSeconds(5), Duration.ofMinutes(10));
      awaitHistories(worker, known, Duration.ofMinutes(5));
      out.printf("pipeline caught up in %.1f s: %s; %d users with state%n", (System.nanoTime() - t0) / 1e9, pooled,
          users.length);

      LanguageModel lm = worker.model();
      AdaptRec core = new AdaptRec(lm, new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION),
          DemoSelector.Config.defaults()), 10);
      Neighbourhood offlineHood = windowNeighbourhood(known, excluded, lm);
      Map<String, long[]> offlineRanks = new ConcurrentHashMap<>();
      Map<String, long[]> pipelineRanks = new ConcurrentHashMap<>();
      AtomicLong errors = new AtomicLong();
      AtomicLong responses = new AtomicLong();
      Properties client = stack.clientProperties();
      try (RecClient rc = new RecClient(stack.topics(), client)) {
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("offline", (td, seed) -> List.of(new Offline(variant, core, offlineHood, offlineRanks)));
        factories.put("pipeline", (td, seed) -> List.of(new Through(variant, rc, pipelineRanks, errors, responses)));
        EvalReport report = new EvalRunner(req.config(), out).run(split, factories);
        int same = 0;
        for (Map.Entry<String, long[]> e : offlineRanks.entrySet()) {
          if (Arrays.equals(e.getValue(), pipelineRanks.get(e.getKey()))) {
            same++;
          }
        }
        Map<String, Object> json = report.toJsonTree();
        Map<String, Object> pipeline = new LinkedHashMap<>();
        pipeline.put("queries", offlineRanks.size());
        pipeline.put("responses", responses.get());
        pipeline.put("identical_rankings", same);
        pipeline.put("identical_share", offlineRanks.isEmpty() ? 0 : (double) same / offlineRanks.size());
        pipeline.put("errors", errors.get());
        pipeline.put("pooled", pooled);
        pipeline.put("variant", variant.name());
        pipeline.put("stage1", "live definition on both sides: mean model embedding of the last " + WINDOW
            + " known items, exact Top-" + DemoSelector.Config.defaults().poolSize() + " by cosine, min history " + MIN_HISTORY);
        json.put("pipeline", pipeline);
        out.printf("through the pipeline: %d queries, %d responses, %d identical rankings (%.2f %%), %d errors%n",
            offlineRanks.size(), responses.get(), same, 100.0 * same / Math.max(1, offlineRanks.size()), errors.get());
        if (req.reportJson() != null) {
          if (req.reportJson().toAbsolutePath().getParent() != null) {
            Files.createDirectories(req.reportJson().toAbsolutePath().getParent());
          }
          new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
              .writeValue(req.reportJson().toFile(), json);
          out.println("report: " + req.reportJson().toAbsolutePath());
        }
        return errors.get() == 0 && same >= 0.99 * offlineRanks.size() ? 0 : 1;
      }
    }
  }

  /** Users the pools job pools (history of at least {@link #MIN_HISTORY}). */
  private static long[] pooledUsers(Map<Long, long[]> known) {
    return known.entrySet().stream().filter(e -> e.getValue().length >= MIN_HISTORY).mapToLong(Map.Entry::getKey).toArray();
  }

  private static void awaitHistories(Worker worker, Map<Long, long[]> known, Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < until) {
      boolean all = true;
      for (Map.Entry<Long, long[]> e : known.entrySet()) {
        var h = worker.mirror().history(e.getKey());
        long[] want = last(e.getValue(), WINDOW);
        if (h == null || !Arrays.equals(h.items(), want)) {
          all = false;
          break;
        }
      }
      if (all) {
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("user-state did not reach every user's known history within " + timeout);
  }

  /**
   * The events known before the evaluated targets, in time order, and each user's known items
   * (oldest first) in {@code known}. loo: every user's training prefix, plus the validation item
   * at the test stage. llara: the training users' whole sequences and each held-out user's
   * sequence before their target; held-out users go to {@code excluded} (never pool members).
   */
  static Dataset knownEvents(Split split, Dataset data, Stage stage, Map<Long, long[]> known, Set<Long> excluded) {
    List<Dataset.Event> events = new ArrayList<>();
    for (Map.Entry<Long, UserSequence> e : split.training().entrySet()) {
      UserSequence s = e.getValue();
      for (int i = 0; i < s.items().length; i++) {
        events.add(new Dataset.Event(e.getKey(), s.items()[i], s.timesMillis()[i], null));
      }
      known.put(e.getKey(), s.items());
    }
    if (split.protocol() == Protocol.LOO) {
      if (stage == Stage.TEST) {
        for (Holdout v : split.holdouts(Stage.VALIDATION)) {
          events.add(new Dataset.Event(v.userId(), v.target(), v.targetTimeMillis(), null));
          long[] items = known.get(v.userId());
          long[] plus = Arrays.copyOf(items, items.length + 1);
          plus[items.length] = v.target();
          known.put(v.userId(), plus);
        }
      }
    } else {
      Map<Long, List<Dataset.Event>> byUser = new HashMap<>();
      for (Dataset.Event e : data.interactions()) {
        byUser.computeIfAbsent(e.userId(), u -> new ArrayList<>()).add(e);
      }
      for (Holdout h : split.holdouts(stage)) {
        List<Dataset.Event> before = new ArrayList<>();
        for (Dataset.Event e : byUser.get(h.userId())) {
          if (e.eventTimeMillis() > h.targetTimeMillis()
              || e.eventTimeMillis() == h.targetTimeMillis() && e.itemId() == h.target()) {
            break;   // the target (the user's last event) and nothing after it
          }
          before.add(e);
        }
        events.addAll(before);
        known.put(h.userId(), before.stream().mapToLong(Dataset.Event::itemId).toArray());
        excluded.add(h.userId());
      }
    }
    events.sort((a, b) -> a.eventTimeMillis() != b.eventTimeMillis() ? Long.compare(a.eventTimeMillis(), b.eventTimeMillis())
        : a.userId() != b.userId() ? Long.compare(a.userId(), b.userId()) : Long.compare(a.itemId(), b.itemId()));
    return new Dataset(split.dataset() + "-known-before-" + stage.cliName(), split.catalogue(), events);
  }

  /** The live stage-1 definition computed offline from the same known items; {@code excluded} are never members. */
  static Neighbourhood windowNeighbourhood(Map<Long, long[]> known, Set<Long> excluded, LanguageModel lm) {
    Map<Long, long[]> windows = new LinkedHashMap<>();
    known.forEach((u, items) -> {
      if (items.length >= MIN_HISTORY) {
        windows.put(u, last(items, WINDOW));
      }
    });
    Map<Long, long[]> candidates = new LinkedHashMap<>(windows);
    candidates.keySet().removeAll(excluded);
    SimilarUsers index = new SimilarUsers(candidates, lm.vocabulary(), lm.itemEmbeddings(), WINDOW);
    return (userId, history, n, asOf) -> {
      long[] own = windows.get(userId);
      if (own == null) {
        return Neighbourhood.Pool.EMPTY;
      }
      List<Neighbourhood.Member> members = new ArrayList<>();
      for (SimilarUsers.Neighbour nb : index.pool(own, userId, n)) {
        members.add(new Neighbourhood.Member(nb.userId(), nb.similarity(), windows.get(nb.userId())));
      }
      return members.isEmpty() ? Neighbourhood.Pool.EMPTY : new Neighbourhood.Pool(members, "offline-window", 0);
    };
  }

  private static long[] last(long[] a, int n) {
    return a.length <= n ? a : Arrays.copyOfRange(a, a.length - n, a.length);
  }

  private static String key(Query q) {
    return q.userId() + ":" + Arrays.hashCode(q.candidates());
  }

  /** Candidate order by descending score, ties by candidate position: the ranking a user sees. */
  static long[] order(long[] candidates, float[] scores) {
    Integer[] idx = new Integer[candidates.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (a, b) -> Float.compare(scores[b], scores[a]));
    return Arrays.stream(idx).mapToLong(i -> candidates[i]).toArray();
  }

  /** The offline side: the AdaptRec core on the window neighbourhood, in this JVM. */
  private record Offline(RecLMSystem.Variant variant, AdaptRec core, Neighbourhood hood, Map<String, long[]> ranks)
      implements Recommender {
    @Override
    public String name() {
      return variant.name() + "-offline";
    }

    @Override
    public float[][] score(List<Query> queries) {
      List<AdaptRec.Query> qs = queries.stream().map(q -> new AdaptRec.Query(q.userId(), q.history(), q.candidates())).toList();
      List<AdaptRec.Recommendation> recs = core.recommend(qs, hood, variant.strategy(), variant.m());
      float[][] out = new float[recs.size()][];
      for (int i = 0; i < out.length; i++) {
        out[i] = recs.get(i).scores();
        ranks.put(key(queries.get(i)), order(queries.get(i).candidates(), out[i]));
      }
      return out;
    }
  }

  /** The pipeline side: every query is a rec-request; the response's scores, back in candidate order. */
  private record Through(RecLMSystem.Variant variant, RecClient client, Map<String, long[]> ranks, AtomicLong errors,
                         AtomicLong responses) implements Recommender {
    @Override
    public String name() {
      return variant.name() + "-pipeline";
    }

    @Override
    public float[][] score(List<Query> queries) {
      List<CompletableFuture<RecommendationResponse>> futures = new ArrayList<>();
      for (Query q : queries) {
        futures.add(client.send(RecommendationRequest.newBuilder().setRequestId(RecClient.newRequestId())
            .setUserId(q.userId()).setCandidates(Arrays.stream(q.candidates()).boxed().toList())
            .setK(q.candidates().length).setRequestedAt(Instant.now()).setAsOf(null).build()));
      }
      float[][] out = new float[queries.size()][];
      for (int i = 0; i < out.length; i++) {
        long[] cands = queries.get(i).candidates();
        float[] row = new float[cands.length];
        Arrays.fill(row, Float.NaN);   // a missing score makes the row invalid: a miss, never a silent hit
        try {
          RecommendationResponse r = futures.get(i).get(120, TimeUnit.SECONDS);
          responses.incrementAndGet();
          if (r.getStatus() != ResponseStatus.OK && r.getStatus() != ResponseStatus.FALLBACK) {
            errors.incrementAndGet();
          }
          Map<Long, Float> byItem = new HashMap<>();
          for (ScoredItem s : r.getItems()) {
            byItem.put(s.getItemId(), s.getScore());
          }
          for (int j = 0; j < cands.length; j++) {
            Float s = byItem.get(cands[j]);
            if (s != null) {
              row[j] = s;
            }
          }
        } catch (Exception e) {
          errors.incrementAndGet();
        }
        out[i] = row;
        ranks.put(key(queries.get(i)), order(cands, row));
      }
      return out;
    }
  }
}
