package io.adaptrec.infra;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.infra.chaos.BadAdapters;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Metrics;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.rollout.ArmTotals;
import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.rollout.FixedHorizon;
import io.adaptrec.worker.rollout.RolloutOps;
import io.adaptrec.worker.serving.StateMirror;
import io.adaptrec.worker.serving.Worker;
import io.adaptrec.worker.training.RefreshLoop;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The live part of {@code adaptrec demo}, on a running local stack with every role.
 *
 * <ol>
 *   <li><b>Bootstrap</b>: the earliest part of the timeline (the part the base model was trained on)
 *       is replayed as fast as possible, so every user has a state and a pool; then the trainer starts,
 *       so that it learns from live traffic only.</li>
 *   <li><b>Live</b>: the rest is replayed in event-time order, accelerated to fit {@code duration}.
 *       Just before a sample of the users' real next interactions, a recommendation request goes out for
 *       that user without candidates (the worker's own candidate generation is measured too); that
 *       interaction, and any later one of the same user, is held back until the response arrived, so the
 *       online HR@1 and NDCG are measured on what users really did next and no response can have seen it.
 *       The same requests are scored for the most-popular baseline (popularity of every interaction
 *       sent so far, the user's seen items removed). Meanwhile the trainer fine-tunes on the stream and
 *       publishes, the controller runs the experiment, and a labelled fault drill publishes a damaged
 *       adapter (finite-looking manifest, correct checksum, NaN weights) that verification must reject.</li>
 *   <li><b>Report</b>: a JSON tree with the figures, the decisions and the time series the HTML report plots.</li>
 * </ol>
 */
final class LiveDemo {

  /**
   * @param pastFraction share of the timeline (by event time) the bootstrap replays; the rest is live
   * @param duration wall-clock length of the live replay
   * @param requestRate requests per second to aim for (sets the share of interactions sampled)
   * @param k items per recommendation (HR@1 and NDCG@k are measured on them)
   * @param drill whether to run the fault drill
   * @param maxInFlight requests outstanding at most; beyond it the replay waits (back-pressure)
   */
  record Config(double pastFraction, Duration duration, double requestRate, int k, long seed, boolean drill,
      int maxInFlight, Duration bootstrapTimeout, Duration requestTimeout) {
    Config {
      if (pastFraction <= 0 || pastFraction >= 1) {
        throw new IllegalArgumentException("--past-fraction must be in (0, 1), got " + pastFraction);
      }
      if (duration.toSeconds() < 5) {
        throw new IllegalArgumentException("--duration must be at least 5 seconds, got " + duration.toSeconds());
      }
      if (requestRate <= 0) {
        throw new IllegalArgumentException("--request-rate must be positive, got " + requestRate);
      }
      if (k < 1 || k > 100) {
        throw new IllegalArgumentException("--k must be 1-100, got " + k);
      }
    }
  }

  /** Label of the fault drill's adapter versions (they say what they are wherever they show up). */
  static final String DRILL_PREFIX = "drill-damaged-";
  static final String POPULAR = "popular";
  private static final long SERIES_EVERY_MS = 5_000;

  private final LocalStack stack;
  private final Dataset data;
  private final Config cfg;
  private final PrintWriter out;
  private final Properties client = new Properties();

  // online measurement; guarded by 'this'
  private final Map<String, double[]> byArm = new TreeMap<>();   // arm label -> {responses, hits@1, ndcg@k}
  private final Map<String, Set<String>> adaptersByArm = new TreeMap<>();   // arm label -> adapter versions it answered with
  private final double[] popular = new double[3];
  private final LatencyHistogram roundTrip = new LatencyHistogram();
  private final LatencyHistogram workerLatency = new LatencyHistogram();
  private final List<Map<String, Object>> hrSeries = new ArrayList<>();
  private final Map<String, Long> errorsByStatus = new TreeMap<>();
  private final Map<String, Long> byPath = new TreeMap<>();
  private final List<String> errorSamples = new ArrayList<>();
  private long responses;
  private long unanswered;
  private long generated;

  // what has been sent (time-safe baseline and seen sets); guarded by 'sent'
  private final Map<Long, Set<Long>> seen = new HashMap<>();
  private final Map<Long, Long> counts = new HashMap<>();
  private long[] popularOrder = new long[0];
  private long popularAt;
  private boolean popularDirty = true;

  private final AtomicLong replayed = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private volatile long liveStartNanos;

  LiveDemo(LocalStack stack, Dataset data, Config cfg, PrintWriter out) {
    this.stack = stack;
    this.data = data;
    this.cfg = cfg;
    this.out = out;
    client.putAll(stack.clientProperties());
  }

  /** Runs bootstrap, live phase and the final collection; the report as a JSON tree. */
  Map<String, Object> run() throws Exception {
    long t0 = System.nanoTime();
    Worker worker = stack.worker().orElseThrow(() -> new IllegalStateException("the worker role is not running"));
    Controller controller = stack.controller().orElseThrow(() -> new IllegalStateException("the control role is not running"));
    List<Dataset.Event> events = data.byTime();
    int cut = data.timeCut(cfg.pastFraction());
    Dataset past = data.earliest(cfg.pastFraction());
    List<Dataset.Event> live = events.subList(cut, events.size());
    if (live.size() < 10) {
      throw new IllegalArgumentException("only " + live.size() + " interactions after the time cut; lower --past-fraction");
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("dataset", data.name());
    report.put("past_interactions", cut);
    report.put("live_interactions", live.size());

    Map<String, Object> freshness;
    Map<String, Object> freshnessSeries = new LinkedHashMap<>();
    List<Map<String, Object>> experimentSeries = new ArrayList<>();
    try (PipelineWatcher watcher = new PipelineWatcher(stack.clientProperties(), stack.topics())) {
      phase("bootstrap", "replaying the earliest %.0f %% (%,d interactions) so every user has a state and a pool ...",
          100 * cfg.pastFraction(), cut);
      Replayer.Summary boot = new Replayer(stack.topics(), stack.bootstrapServers(), stack.clientSettings(),
          new Replayer.Options(0, Replayer.RecordTime.NOW, false), System.err).replay(past, 0);
      replayed.addAndGet(boot.interactions());
      awaitBootstrap(watcher, worker, cut);
      long bootSeconds = (System.nanoTime() - t0) / 1_000_000_000L;
      phase("bootstrap", "done in %d s; starting the trainer on live traffic only ...", bootSeconds);
      RefreshLoop trainer = stack.startTrainer();
      for (Dataset.Event e : past.interactions()) {
        markSent(e);
      }
      watcher.resetLatencies();
      worker.mirror().resetFreshness();

      liveStartNanos = System.nanoTime();
      String drillVersion = livePhase(live, worker, controller, trainer);
      long liveEnd = System.nanoTime();
      settle();

      PipelineWatcher.Snapshot seenOut = watcher.snapshot();
      report.put("bootstrap_seconds", (liveStartNanos - t0) / 1e9);
      report.put("live_seconds", (liveEnd - liveStartNanos) / 1e9);
      report.put("speedup", speedup(live));
      report.put("user_states", seenOut.states().size());
      report.put("users_with_pool", seenOut.pools().size());
      freshness = freshness(seenOut, worker, freshnessSeries);
      Map<String, String> rejectedByController = collectDecisions(report, controller, experimentSeries);
      collectAdapters(report, worker, trainer, drillVersion, rejectedByController);
      report.put("stream_dead_letters", stack.streams().map(s -> s.counters().snapshot().getOrDefault("dead_lettered", 0L))
          .orElse(0L));
    }
    synchronized (this) {
      report.put("interactions_replayed", replayed.get());
      report.put("requests", requests.get());
      report.put("responses", responses);
      report.put("unanswered", unanswered);
      long errors = errorsByStatus.values().stream().mapToLong(Long::longValue).sum();
      report.put("errors", errors);
      report.put("errors_by_status", new TreeMap<>(errorsByStatus));
      report.put("error_samples", List.copyOf(errorSamples));
      report.put("candidates_generated", generated);
      report.put("responses_by_path", new TreeMap<>(byPath));
      report.put("dead_letters", deadLetters());
      Map<String, Object> hr = new LinkedHashMap<>();
      Map<String, Object> ndcg = new LinkedHashMap<>();
      Map<String, Object> n = new LinkedHashMap<>();
      byArm.forEach((arm, c) -> {
        hr.put(arm, c[0] == 0 ? 0.0 : c[1] / c[0]);
        ndcg.put(arm, c[0] == 0 ? 0.0 : c[2] / c[0]);
        n.put(arm, (long) c[0]);
      });
      report.put("online_hr@1", hr);
      report.put("online_ndcg@" + cfg.k(), ndcg);
      report.put("responses_by_arm", n);
      Map<String, Object> adaptersOfArms = new LinkedHashMap<>();
      adaptersByArm.forEach((arm, v) -> adaptersOfArms.put(arm, List.copyOf(v)));
      report.put("adapters_by_arm", adaptersOfArms);
      report.put("online_hr@1_popular", popular[0] == 0 ? 0.0 : popular[1] / popular[0]);
      report.put("online_ndcg@" + cfg.k() + "_popular", popular[0] == 0 ? 0.0 : popular[2] / popular[0]);
      report.put("k", cfg.k());
      report.put("p50_ms", roundTrip.quantileMicros(0.50) / 1000.0);
      report.put("p99_ms", roundTrip.quantileMicros(0.99) / 1000.0);
      report.put("worker_p50_ms", workerLatency.quantileMicros(0.50) / 1000.0);
      report.put("worker_p99_ms", workerLatency.quantileMicros(0.99) / 1000.0);
      report.put("freshness", freshness);
      report.put("freshness_p99_ms", ((Map<?, ?>) freshness.get(FRESH_WORKER_POOL)).get("p99_ms"));
      Map<String, Object> series = new LinkedHashMap<>();
      series.put("hr_by_arm", List.copyOf(hrSeries));
      series.put("latency_ms", histogramJson(roundTrip));
      series.put("freshness_ms", freshnessSeries);
      series.put("experiment", experimentSeries);
      report.put("series", series);
    }
    report.put("duration_s", (System.nanoTime() - t0) / 1e9);
    return report;
  }

  // ------------------------------------------------------------------ bootstrap

  private void awaitBootstrap(PipelineWatcher watcher, Worker worker, long interactions) throws InterruptedException {
    long deadline = System.nanoTime() + cfg.bootstrapTimeout().toNanos();
    long quiet = TimeUnit.MILLISECONDS.toNanos(Math.max(3000, 3 * stack.config().flinkCheckpointMs()));
    long nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      PipelineWatcher.Snapshot s = watcher.snapshot();
      long processed = stack.streams().orElseThrow().counters().interactions.get();
      boolean done = processed >= interactions && !s.pools().isEmpty() && s.nanosSinceLastState() > quiet
          && s.nanosSinceLastPool() > quiet && worker.notReadyReason() == null && worker.mirror().lag() == 0;
      if (done) {
        return;
      }
      if (!stack.problems().isEmpty()) {
        throw new IllegalStateException("the stack reports a problem during the bootstrap: " + stack.problems());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(String.format("bootstrap not caught up after %d s: %,d/%,d interactions processed,"
                + " user-state for %,d users, pools for %,d users, worker mirror lag %d", cfg.bootstrapTimeout().toSeconds(),
            processed, interactions, s.states().size(), s.pools().size(), worker.mirror().lag()));
      }
      if (System.nanoTime() > nextReport) {
        phase("bootstrap", "waiting for the pipeline: %,d/%,d interactions processed, user-state for %,d users, pools for %,d",
            processed, interactions, s.states().size(), s.pools().size());
        nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      }
      Thread.sleep(250);
    }
  }

  // ------------------------------------------------------------------ live phase

  private double speedup(List<Dataset.Event> live) {
    long span = live.get(live.size() - 1).eventTimeMillis() - live.get(0).eventTimeMillis();
    return Math.max(1, span / (double) cfg.duration().toMillis());
  }

  /** The live replay with held-back interactions; returns the drill adapter's version (null without a drill). */
  private String livePhase(List<Dataset.Event> live, Worker worker, Controller controller, RefreshLoop trainer)
      throws Exception {
    double speedup = speedup(live);
    double share = Math.min(1, cfg.requestRate() * cfg.duration().toSeconds() / live.size());
    phase("live", "replaying %,d interactions over %d s (event time x%,.0f); a request before %.1f %% of them (~%.0f/s) ...",
        live.size(), cfg.duration().toSeconds(), speedup, 100 * share, share * live.size() / cfg.duration().toSeconds());
    Topics topics = stack.topics();
    Random rnd = new Random(cfg.seed());
    Semaphore inFlight = new Semaphore(cfg.maxInFlight());
    Map<Long, CompletableFuture<Void>> tails = new HashMap<>();
    CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
    Pacer pacer = new Pacer(speedup, Pacer.SYSTEM);
    String drillVersion = null;
    long drillAt = (long) (0.15 * live.size());
    long nextProgress = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    long nextSeries = System.currentTimeMillis() + SERIES_EVERY_MS;
    try (RecClient rec = new RecClient(topics, client);
         KafkaProducer<Long, Interaction> producer = new KafkaProducer<>(client,
             topics.interactions().keySerde().serializer(), topics.interactions().valueSerde().serializer())) {
      for (int n = 0; n < live.size(); n++) {
        Dataset.Event e = live.get(n);
        pacer.awaitDue(e.eventTimeMillis());
        if (cfg.drill() && n == drillAt) {
          drillVersion = publishDamagedAdapter(controller.production());
        }
        CompletableFuture<Void> prev = tails.getOrDefault(e.userId(), done);
        CompletableFuture<Void> next;
        if (rnd.nextDouble() < share) {
          inFlight.acquire();
          next = prev.thenCompose(v -> request(rec, e)).handle((r, ex) -> {
            inFlight.release();
            answered(e, r, ex);
            send(producer, topics, e);
            return null;
          });
        } else if (prev.isDone()) {
          send(producer, topics, e);
          next = done;
        } else {
          next = prev.thenRun(() -> send(producer, topics, e));
        }
        tails.put(e.userId(), next);
        if (n % 1000 == 0) {
          tails.values().removeIf(CompletableFuture::isDone);
        }
        if (System.currentTimeMillis() >= nextSeries) {
          sample();
          nextSeries += SERIES_EVERY_MS;
        }
        if (System.nanoTime() > nextProgress) {
          progress(n, live.size(), inFlight, trainer, worker);
          nextProgress = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          List<String> problems = stack.problems();
          if (!problems.isEmpty()) {
            throw new IllegalStateException("the stack reports a problem during the live phase: " + problems);
          }
        }
      }
      // every held interaction goes out once its response (or its timeout) came
      CompletableFuture.allOf(tails.values().toArray(CompletableFuture[]::new))
          .get(cfg.requestTimeout().toSeconds() + 30, TimeUnit.SECONDS);
      producer.flush();
      sample();
      progress(live.size(), live.size(), inFlight, trainer, worker);
    }
    return drillVersion;
  }

  private CompletableFuture<RecommendationResponse> request(RecClient rec, Dataset.Event e) {
    long[] baseline = popularTop(e.userId(), cfg.k());
    long sentNanos = System.nanoTime();
    RecommendationRequest req = RecClient.request(e.userId(), cfg.k(), null);
    requests.incrementAndGet();
    return rec.send(req).orTimeout(cfg.requestTimeout().toMillis(), TimeUnit.MILLISECONDS).thenApply(r -> {
      synchronized (this) {
        roundTrip.record((System.nanoTime() - sentNanos) / 1000);
        score(popular, rank(baseline, e.itemId()));
      }
      return r;
    });
  }

  /** Counts one answered (or unanswered) request against the user's real next item. */
  private synchronized void answered(Dataset.Event e, RecommendationResponse r, Throwable ex) {
    if (ex != null || r == null) {
      unanswered++;
      if (errorSamples.size() < 5) {
        errorSamples.add("user " + e.userId() + ": no response (" + (ex == null ? "null" : ex.getCause() != null
            ? ex.getCause() : ex) + ")");
      }
      return;
    }
    responses++;
    byPath.merge(r.getStatus() + " " + (r.getPath().isEmpty() ? "?" : r.getPath()), 1L, Long::sum);
    if (r.getCandidatesGenerated()) {
      generated++;
    }
    if (r.getStatus() != ResponseStatus.OK && r.getStatus() != ResponseStatus.FALLBACK) {
      errorsByStatus.merge(r.getStatus().name(), 1L, Long::sum);
      if (errorSamples.size() < 5) {
        errorSamples.add("user " + e.userId() + ": " + r.getStatus() + " " + r.getError());
      }
      return;
    }
    workerLatency.record(r.getLatencyMicros());
    long[] items = r.getItems().stream().mapToLong(ScoredItem::getItemId).toArray();
    score(byArm.computeIfAbsent(armLabel(r), a -> new double[3]), rank(items, e.itemId()));
    adaptersByArm.computeIfAbsent(armLabel(r), a -> new java.util.TreeSet<>()).add(r.getAdapterVersion());
  }

  /**
   * An arm as the report names it: "production" outside experiments, else the arm and its experiment,
   * e.g. "treatment of exp-lora-4dd1…" (cold-start fallbacks count in the arm they were routed to, as
   * the outcome topology counts them).
   */
  static String armLabel(RecommendationResponse r) {
    return r.getExperimentId() == null ? "production" : r.getArm() + " of " + r.getExperimentId();
  }

  private void score(double[] acc, int rank) {
    acc[0]++;
    acc[1] += Metrics.hit(rank, 1);
    acc[2] += Metrics.ndcg(rank, cfg.k());
  }

  /** 1-based rank of {@code target} in {@code ranked}; {@link Integer#MAX_VALUE} when absent. */
  static int rank(long[] ranked, long target) {
    for (int i = 0; i < ranked.length; i++) {
      if (ranked[i] == target) {
        return i + 1;
      }
    }
    return Integer.MAX_VALUE;
  }

  private void send(KafkaProducer<Long, Interaction> producer, Topics topics, Dataset.Event e) {
    producer.send(new ProducerRecord<>(topics.interactions().name(), e.userId(), Interaction.newBuilder()
        .setUserId(e.userId()).setItemId(e.itemId()).setEventTime(Instant.ofEpochMilli(e.eventTimeMillis()))
        .setKind(e.rating() == null ? InteractionKind.VIEW : InteractionKind.RATE).setRating(e.rating()).build()));
    markSent(e);
    replayed.incrementAndGet();
  }

  private void markSent(Dataset.Event e) {
    synchronized (seen) {
      seen.computeIfAbsent(e.userId(), k -> new HashSet<>()).add(e.itemId());
      counts.merge(e.itemId(), 1L, Long::sum);
      popularDirty = true;
    }
  }

  /** The {@code k} items sent most often so far that {@code user} has not interacted with (ties: lower id). */
  private long[] popularTop(long user, int k) {
    synchronized (seen) {
      long now = System.nanoTime();
      if (popularDirty && now - popularAt > 200_000_000L || popularOrder.length == 0) {
        popularOrder = counts.entrySet().stream()
            .sorted((a, b) -> !a.getValue().equals(b.getValue()) ? Long.compare(b.getValue(), a.getValue())
                : Long.compare(a.getKey(), b.getKey()))
            .mapToLong(Map.Entry::getKey).toArray();
        popularAt = now;
        popularDirty = false;
      }
      Set<Long> s = seen.getOrDefault(user, Set.of());
      long[] top = new long[k];
      int n = 0;
      for (int i = 0; i < popularOrder.length && n < k; i++) {
        if (!s.contains(popularOrder[i])) {
          top[n++] = popularOrder[i];
        }
      }
      return Arrays.copyOf(top, n);
    }
  }

  private synchronized void sample() {
    double t = (System.nanoTime() - liveStartNanos) / 1e9;
    byArm.forEach((arm, c) -> hrSeries.add(Map.of("t_s", t, "arm", arm, "hr1", c[0] == 0 ? 0.0 : c[1] / c[0],
        "n", (long) c[0])));
    if (popular[0] > 0) {
      hrSeries.add(Map.of("t_s", t, "arm", POPULAR, "hr1", popular[1] / popular[0], "n", (long) popular[0]));
    }
  }

  private void progress(int n, int total, Semaphore inFlight, RefreshLoop trainer, Worker worker) {
    double t = (System.nanoTime() - liveStartNanos) / 1e9;
    long eta = Math.max(0, Math.round(cfg.duration().toSeconds() - t));
    StringBuilder arms = new StringBuilder();
    synchronized (this) {
      byArm.forEach((arm, c) -> arms.append(String.format("; %s %,d hr@1 %.3f", arm, (long) c[0], c[0] == 0 ? 0 : c[1] / c[0])));
      phase("live", "%3.0f s  replayed %,d/%,d (%.0f/s)  requests %,d (%.1f/s)  responses %,d  in flight %d  unanswered %d  "
              + "trainer rounds %d (%,d waiting)%s  ETA %d s", t, n, total, n / Math.max(1e-9, t), requests.get(),
          requests.get() / Math.max(1e-9, t), responses, cfg.maxInFlight() - inFlight.availablePermits(), unanswered,
          trainer.rounds().size(), trainer.pendingExamples(), arms, eta);
    }
  }

  /** After the replay: the outcome topology and the controller catch up with the last outcomes. */
  private void settle() throws InterruptedException {
    phase("settle", "waiting for the last outcomes to reach the controller ...");
    Thread.sleep(Duration.ofSeconds(8).toMillis());
  }

  // ------------------------------------------------------------------ the fault drill

  /**
   * Publishes a damaged copy of the production adapter: the model's adapter weights with every float of
   * its first tensor turned into NaN, under a correct checksum and a version that says it is a drill.
   * Verification must reject it before any traffic (reason NOT_FINITE) and record the rejection.
   */
  private String publishDamagedAdapter(String production) throws Exception {
    Path modelAdapters = stack.config().modelDir().resolve("adapters");
    Path source = modelAdapters.resolve(production);
    if (!Files.isDirectory(source)) {
      source = modelAdapters.resolve(Files.readString(modelAdapters.resolve("CURRENT")).trim());
    }
    AdapterStore.Manifest m = AdapterStore.readManifest(source);
    byte[] weights = BadAdapters.nanWeights(Files.readAllBytes(source.resolve(m.location())));
    String version = DRILL_PREFIX + AdapterStore.sha256(weights).substring(0, 12);
    AdapterStore.Manifest bad = new AdapterStore.Manifest(version, m.baseModel(), m.rank(), m.alpha(), m.targetModules(),
        production, Instant.now(), Map.of("drill", 1.0), AdapterStore.sha256(weights), weights.length,
        m.location(), m.shapes(), m.engine(), m.engineVersion());
    AdapterManifest avro = Manifests.toAvro(bad, weights);
    try (KafkaProducer<String, AdapterManifest> p = new KafkaProducer<>(client,
        stack.topics().adapters().keySerde().serializer(), stack.topics().adapters().valueSerde().serializer())) {
      p.send(new ProducerRecord<>(stack.topics().adapters().name(), version, avro)).get(30, TimeUnit.SECONDS);
    }
    phase("drill", "fault drill: published damaged adapter %s (NaN weights, valid checksum); verification must reject it",
        version);
    return version;
  }

  // ------------------------------------------------------------------ collection

  static final String FRESH_STATE = "interaction → user-state";
  static final String FRESH_POOL = "interaction → pool";
  static final String FRESH_WORKER_STATE = "interaction → worker (history)";
  static final String FRESH_WORKER_POOL = "interaction → worker (pool)";

  private Map<String, Object> freshness(PipelineWatcher.Snapshot s, Worker worker, Map<String, Object> series) {
    Map<String, LatencyHistogram> stages = new LinkedHashMap<>();
    stages.put(FRESH_STATE, histogramOfMillis(s.stateLatenciesMs()));
    stages.put(FRESH_POOL, histogramOfMillis(s.poolLatenciesMs()));
    stages.put(FRESH_WORKER_STATE, worker.mirror().freshness(StateMirror.Freshness.USER_STATE));
    stages.put(FRESH_WORKER_POOL, worker.mirror().freshness(StateMirror.Freshness.POOL));
    Map<String, Object> out = new LinkedHashMap<>();
    // the topic stages are exact (nearest rank over every record); the worker's are histogram bucket bounds
    Map<String, long[]> exact = Map.of(FRESH_STATE, s.stateLatenciesMs(), FRESH_POOL, s.poolLatenciesMs());
    stages.forEach((name, h) -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("n", h.count());
      long[] raw = exact.get(name);
      m.put("p50_ms", raw != null ? (double) Math.max(0, PipelineWatcher.percentile(raw, 0.5)) : h.quantileMicros(0.5) / 1000.0);
      m.put("p99_ms", raw != null ? (double) Math.max(0, PipelineWatcher.percentile(raw, 0.99)) : h.quantileMicros(0.99) / 1000.0);
      m.put("exact", raw != null);
      out.put(name, m);
      series.put(name, histogramJson(h));
    });
    return out;
  }

  private static LatencyHistogram histogramOfMillis(long[] ms) {
    LatencyHistogram h = new LatencyHistogram();
    for (long x : ms) {
      h.record(Math.max(0, x) * 1000);
    }
    return h;
  }

  /** {bounds_ms, counts}: the non-empty range of a histogram (the last bucket's bound is open: reported as null). */
  static Map<String, Object> histogramJson(LatencyHistogram h) {
    List<Long> b = h.boundsList();
    List<Long> c = h.countsList();
    int first = 0;
    int last = c.size() - 1;
    while (first < c.size() && c.get(first) == 0) {
      first++;
    }
    while (last > first && c.get(last) == 0) {
      last--;
    }
    List<Object> bounds = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    for (int i = first; i <= last && i < c.size(); i++) {
      bounds.add(i < b.size() ? b.get(i) / 1000.0 : null);
      counts.add(c.get(i));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("bounds_ms", bounds);
    m.put("counts", counts);
    return m;
  }

  /**
   * @param rejectedByController version -> reason of the adapters the controller rejected before any
   *                             traffic (workers only verify adapters an experiment routes to)
   */
  private void collectAdapters(Map<String, Object> report, Worker worker, RefreshLoop trainer, String drillVersion,
      Map<String, String> rejectedByController) {
    List<AdapterManifest> published = new ArrayList<>();
    TopicScan.toEnd(client, stack.topics().adapters().name(), Duration.ofSeconds(30), r -> {
      if (r.value() != null) {
        published.add(stack.topics().adapters().valueSerde().deserializer().deserialize(r.topic(), r.value()));
      }
    });
    List<Map<String, Object>> adapters = new ArrayList<>();
    List<Map<String, Object>> rejected = new ArrayList<>();
    Map<String, String> whyRejected = new HashMap<>(rejectedByController);
    worker.rejectedAdapters().forEach((v, why) -> whyRejected.merge(v, "worker: " + why, (a, b) -> a + "; " + b));
    long fromTrainer = 0;
    for (AdapterManifest m : published) {
      String v = m.getVersion();
      boolean drill = v.startsWith(DRILL_PREFIX);
      fromTrainer += drill ? 0 : 1;
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("version", v);
      a.put("source", drill ? "fault drill" : "trainer");
      a.put("parent", m.getParentVersion());
      a.put("offline_metrics", new TreeMap<>(m.getOfflineMetrics()));
      a.put("serving", worker.model().loadedAdapters().contains(v));
      String why = whyRejected.get(v);
      a.put("state", why != null ? "rejected" : worker.model().loadedAdapters().contains(v) ? "serving" : "published");
      a.put("reason", why);
      adapters.add(a);
      if (why != null) {
        rejected.add(Map.of("version", v, "reason", why));
      }
    }
    report.put("adapters", adapters);
    report.put("adapters_published", fromTrainer);
    report.put("adapters_rejected", rejected);
    report.put("drill_adapter", drillVersion);
    List<Map<String, Object>> rounds = trainer.rounds().stream().map(RolloutBenchmark::roundJson).toList();
    report.put("trainer_rounds", rounds);
    report.put("trainer_aborted_rounds", trainer.abortedRounds());
  }

  /** The decision log and every experiment into the report; returns the adapters rejected by the controller. */
  private Map<String, String> collectDecisions(Map<String, Object> report, Controller controller,
      List<Map<String, Object>> series) {
    Map<String, String> rejected = new LinkedHashMap<>();
    long liveStartMillis = System.currentTimeMillis() - (System.nanoTime() - liveStartNanos) / 1_000_000;
    List<Map<String, Object>> decisions = new ArrayList<>();
    List<Map<String, Object>> experiments = new ArrayList<>();
    for (RolloutOps.Status s : RolloutOps.status(client, stack.topics())) {
      for (RolloutDecision d : s.log()) {
        Map<String, Object> m = decisionJson(d, liveStartMillis);
        series.add(Map.of("t_s", m.get("t_s"), "experiment", d.getExperimentId(), "statistic", d.getStatistic(),
            "boundary", d.getBoundary(), "action", d.getAction().name()));
        if (d.getAction() != RolloutAction.CONTINUE) {
          decisions.add(m);
        }
      }
      if (s.rollout().getState() == RolloutState.ABORTED && s.rollout().getReason() != null
          && s.rollout().getReason().contains("rejected")) {
        s.rollout().getArms().stream().filter(a -> a.getArm().equals("treatment"))
            .forEach(a -> rejected.put(a.getAdapterVersion(), s.rollout().getReason()));
      }
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("experiment", s.rollout().getExperimentId());
      e.put("state", s.rollout().getState().name());
      e.put("reason", s.rollout().getReason());
      e.put("control", RolloutBenchmark.totals(s.control()));
      e.put("treatment", RolloutBenchmark.totals(s.treatment()));
      if (s.rollout().getState() == RolloutState.RUNNING || s.rollout().getState() == RolloutState.PAUSED) {
        e.put("still_needed", stillNeeded(s));
      }
      RolloutDecision last = s.rollout().getDecision();
      if (last != null) {
        e.put("statistic", last.getStatistic());
        e.put("boundary", last.getBoundary());
        e.put("p_value", last.getPValue());
      }
      experiments.add(e);
    }
    decisions.sort((a, b) -> Double.compare(((Number) a.get("t_s")).doubleValue(), ((Number) b.get("t_s")).doubleValue()));
    report.put("rollout_decisions", decisions);
    report.put("experiments", experiments);
    report.put("production", controller.production());
    return rejected;
  }

  private static Map<String, Object> decisionJson(RolloutDecision d, long liveStartMillis) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("experiment", d.getExperimentId());
    m.put("action", d.getAction().name());
    m.put("actor", d.getActor());
    m.put("reason", d.getReason());
    m.put("statistic", d.getStatistic());
    m.put("boundary", d.getBoundary());
    m.put("p_value", d.getPValue());
    m.put("effect", d.getEffect());
    m.put("low", d.getEffectLow());
    m.put("high", d.getEffectHigh());
    m.put("samples_control", d.getSamplesControl());
    m.put("samples_treatment", d.getSamplesTreatment());
    m.put("t_s", (d.getDecidedAt().toEpochMilli() - liveStartMillis) / 1000.0);
    return m;
  }

  /**
   * For a running experiment: the outcomes a fixed-horizon two-proportion test at α = 5 %, power 0.8
   * needs for the effect observed so far (at least 2 points, the smallest worth a rollout here) and
   * the arms' shares, minus the outcomes it has; the sequential test needs about 1.2× that.
   */
  static Map<String, Object> stillNeeded(RolloutOps.Status s) {
    ArmTotals c = s.control();
    ArmTotals t = s.treatment();
    double pc = c.outcomes() == 0 ? 0 : c.hitsAt1() / (double) c.outcomes();
    double pt = t.outcomes() == 0 ? 0 : t.hitsAt1() / (double) t.outcomes();
    double effect = Math.max(0.02, Math.abs(pt - pc));
    double base = Math.min(0.99 - effect, Math.max(effect + 0.01, pc));
    double share = Math.max(0.01, Math.min(0.99, s.rollout().getArms().stream()
        .filter(a -> a.getArm().equals("treatment")).mapToInt(a -> a.getTrafficPercent()).sum() / 100.0));
    FixedHorizon.Plan plan = FixedHorizon.twoProportion(base, pt >= pc ? effect : -effect, 0.05, 0.8, share);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("effect_assumed", effect);
    m.put("fixed_horizon_outcomes", plan.total());
    m.put("outcomes_so_far", c.outcomes() + t.outcomes());
    m.put("outcomes_still_needed", Math.max(0, plan.total() - c.outcomes() - t.outcomes()));
    return m;
  }

  private Map<String, Long> deadLetters() {
    Map<String, Long> bySource = new TreeMap<>();
    TopicScan.toEnd(client, stack.topics().deadLetter().name(), Duration.ofSeconds(30), r -> {
      String source = "undecodable";
      try {
        var d = stack.topics().deadLetter().valueSerde().deserializer().deserialize(r.topic(), r.value());
        source = d.getSource().isEmpty() ? d.getTopic() : d.getSource();
      } catch (RuntimeException e) {
        // counted under "undecodable"
      }
      bySource.merge(source, 1L, Long::sum);
    });
    return bySource;
  }

  private void phase(String phase, String fmt, Object... args) {
    out.printf("[%-9s] " + fmt + "%n", prepend(phase, args));
    out.flush();
  }

  private static Object[] prepend(Object first, Object[] rest) {
    Object[] all = new Object[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }
}
