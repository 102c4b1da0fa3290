package io.adaptrec.worker.eval;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates named recommender factories on one {@link Split}: for every seed it draws the
 * candidates once, trains each factory (or reuses the first seed's models, see
 * {@link EvalConfig#retrainPerSeed()}), scores every variant on exactly those candidates and
 * aggregates mean and spread over seeds. Prints the table to {@code out}; the caller writes JSON.
 */
public final class EvalRunner {

    private static final Logger LOG = LoggerFactory.getLogger(EvalRunner.class);

    private final EvalConfig config;
    private final PrintStream out;

    public EvalRunner(EvalConfig config, PrintStream out) {
        this.config = Objects.requireNonNull(config, "config");
        this.out = Objects.requireNonNull(out, "out");
    }

    /** Per-variant accumulation across seeds. */
    private static final class Tally {
        final String factory;
        final List<EvalReport.SeedResult> perSeed = new ArrayList<>();
        Map<String, Double> fullMetrics; // from the model's last training run; null while n/a
        double evalNanos;

        Tally(String factory) {
            this.factory = factory;
        }
    }

    /**
     * @param factories by name, in report order; the names label timings, the recommenders' own
     *                  names label the variants
     */
    public EvalReport run(Split split, Map<String, RecommenderFactory> factories) throws Exception {
        return run(split, factories, null);
    }

    /**
     * As {@link #run(Split, Map)}; with a {@code store}, a (factory, seed) whose results it holds is neither
     * trained nor scored again, and every (factory, seed) finished here is saved to it as soon as it is scored,
     * so that a run stopped half-way resumes where it stopped. Needs one training per seed.
     */
    public EvalReport run(Split split, Map<String, RecommenderFactory> factories, ResultStore store) throws Exception {
        if (store != null && !config.retrainPerSeed()) {
            throw new IllegalArgumentException("stored results need one training per seed (retrainPerSeed)");
        }
        if (factories.isEmpty()) {
            throw new IllegalArgumentException("no recommender factories given");
        }
        List<Holdout> holdouts = split.holdouts(config.stage());
        if (holdouts.isEmpty()) {
            throw new IllegalArgumentException("split " + split.summary() + " has no " + config.stage().cliName()
                    + " cases to evaluate");
        }
        out.println(split.summary());
        boolean full = config.fullRanking() && split.protocol() == Protocol.LOO;
        List<EvalCase> fullCases = full ? split.fullRankingCases(config.stage()) : List.of();

        Map<String, Tally> tallies = new LinkedHashMap<>();
        Map<String, List<Recommender>> trained = new LinkedHashMap<>();
        Map<String, Double> trainNanos = new LinkedHashMap<>();
        Map<String, Integer> trainCounts = new LinkedHashMap<>();
        long started = System.nanoTime();
        long variantsPerSeed = factories.size();
        try (Progress progress = Progress.start(config.progress(), "eval " + split.dataset() + "/"
                + split.protocol().cliName(), config.seeds().size() * variantsPerSeed * holdouts.size(), "queries")) {
            for (int s = 0; s < config.seeds().size(); s++) {
                long seed = config.seeds().get(s);
                boolean train = s == 0 || config.retrainPerSeed();
                if (train) {
                    closeAll(trained);
                    trained.clear();
                    TrainingData data = split.trainingData(seed);
                    for (Map.Entry<String, RecommenderFactory> f : factories.entrySet()) {
                        Map<String, Map<String, Double>> stored = store == null ? null : store.load(f.getKey(), seed);
                        if (stored != null) {
                            for (Map.Entry<String, Map<String, Double>> r : stored.entrySet()) {
                                tallies.computeIfAbsent(r.getKey(), n -> new Tally(f.getKey())).perSeed
                                        .add(new EvalReport.SeedResult(seed, r.getValue()));
                            }
                            progress.step((long) stored.size() * holdouts.size());
                            out.printf("%s, seed %d: stored results reused (%s)%n", f.getKey(), seed, store.dir());
                            continue;
                        }
                        progress.message("training " + f.getKey() + " (seed " + seed + ")");
                        long t0 = System.nanoTime();
                        List<Recommender> recs = f.getValue().create(data, seed);
                        trainNanos.merge(f.getKey(), (double) (System.nanoTime() - t0), Double::sum);
                        trainCounts.merge(f.getKey(), 1, Integer::sum);
                        if (recs == null || recs.isEmpty()) {
                            throw new IllegalStateException("factory '" + f.getKey() + "' returned no recommender");
                        }
                        trained.put(f.getKey(), List.copyOf(recs));
                    }
                    checkUniqueNames(trained);
                    if (!trained.isEmpty()) {
                        variantsPerSeed = trained.values().stream().mapToLong(List::size).sum();
                        progress.maxHint(config.seeds().size() * variantsPerSeed * holdouts.size());
                    }
                }
                List<EvalCase> cases = split.cases(config.stage(), seed);
                for (Map.Entry<String, List<Recommender>> f : trained.entrySet()) {
                    Map<String, Map<String, Double>> scored = new LinkedHashMap<>();
                    for (Recommender rec : f.getValue()) {
                        Tally tally = tallies.computeIfAbsent(rec.name(), n -> new Tally(f.getKey()));
                        progress.message(rec.name() + " (seed " + seed + ")");
                        long t0 = System.nanoTime();
                        Map<String, Double> metrics = new LinkedHashMap<>(evaluate(rec, cases, progress));
                        if (full && rec.supportsFullRanking() && train) {
                            // Full ranking has no sampling, so it changes only when the model does.
                            tally.fullMetrics = evaluateFull(rec, fullCases);
                        }
                        tally.evalNanos += System.nanoTime() - t0;
                        if (tally.fullMetrics != null) {
                            metrics.putAll(tally.fullMetrics);
                        }
                        tally.perSeed.add(new EvalReport.SeedResult(seed, metrics));
                        scored.put(rec.name(), metrics);
                    }
                    if (store != null) {
                        store.save(f.getKey(), seed, scored);
                    }
                }
            }
        } finally {
            closeAll(trained);
        }
        double totalSeconds = (System.nanoTime() - started) / 1e9;
        double trainSeconds = trainNanos.values().stream().mapToDouble(Double::doubleValue).sum() / 1e9;
        List<EvalReport.VariantResult> variants = new ArrayList<>();
        tallies.forEach((name, t) -> variants.add(new EvalReport.VariantResult(name, t.factory, t.perSeed,
                trainNanos.getOrDefault(t.factory, 0.0) / 1e9 / Math.max(1, trainCounts.getOrDefault(t.factory, 0)),
                t.evalNanos / 1e9)));
        EvalReport report = new EvalReport(split.dataset(), split.protocol(), config.stage(), config.seeds(),
                holdouts.size(), split.training().size(), split.trainingInteractions(), split.config().candidates(),
                trainSeconds, totalSeconds - trainSeconds, variants, Machine.describe(), Instant.now().toString(),
                split.timeSafe(), config.retrainPerSeed());
        out.print(report.table());
        return report;
    }

    private Map<String, Double> evaluate(Recommender rec, List<EvalCase> cases, Progress progress) {
        double hr1 = 0;
        double ndcg5 = 0;
        double ndcg20 = 0;
        int valid = 0;
        for (int rank : ranks(rec, cases, progress)) {
            if (rank != Metrics.INVALID) {
                valid++;
            }
            hr1 += Metrics.hit(rank, 1);
            ndcg5 += Metrics.ndcg(rank, 5);
            ndcg20 += Metrics.ndcg(rank, 20);
        }
        double n = cases.size();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put(EvalReport.HR1, hr1 / n);
        m.put(EvalReport.NDCG5, ndcg5 / n);
        m.put(EvalReport.NDCG20, ndcg20 / n);
        m.put(EvalReport.VALID, valid / n);
        return m;
    }

    private Map<String, Double> evaluateFull(Recommender rec, List<EvalCase> cases) {
        double hr10 = 0;
        double ndcg10 = 0;
        for (int rank : ranks(rec, cases, null)) {
            hr10 += Metrics.hit(rank, 10);
            ndcg10 += Metrics.ndcg(rank, 10);
        }
        return Map.of(EvalReport.HR10_FULL, hr10 / cases.size(), EvalReport.NDCG10_FULL, ndcg10 / cases.size());
    }

    /** The target's rank in every case (or {@link Metrics#INVALID}), scored in batches. */
    private int[] ranks(Recommender rec, List<EvalCase> cases, Progress progress) {
        int[] ranks = new int[cases.size()];
        for (int from = 0; from < cases.size(); from += config.batchSize()) {
            List<EvalCase> batch = cases.subList(from, Math.min(cases.size(), from + config.batchSize()));
            float[][] scores = score(rec, batch);
            for (int q = 0; q < batch.size(); q++) {
                EvalCase c = batch.get(q);
                float[] row = scores != null && q < scores.length ? scores[q] : null;
                ranks[from + q] = Metrics.rank(row, c.targetIndex(), c.query().candidates().length);
            }
            if (progress != null) {
                progress.step(batch.size());
            }
        }
        return ranks;
    }

    private static float[][] score(Recommender rec, List<EvalCase> batch) {
        List<Query> queries = batch.stream().map(EvalCase::query).toList();
        try {
            return rec.score(queries);
        } catch (RuntimeException e) {
            throw new IllegalStateException("variant '" + rec.name() + "' failed to score a batch of "
                    + queries.size() + " queries (first user " + queries.get(0).userId() + "): " + e.getMessage(), e);
        }
    }

    private static void checkUniqueNames(Map<String, List<Recommender>> trained) {
        Set<String> names = new HashSet<>();
        trained.forEach((factory, recs) -> recs.forEach(r -> {
            if (!names.add(r.name())) {
                throw new IllegalStateException("variant name '" + r.name() + "' (from factory '" + factory
                        + "') is used twice; every recommender in a run needs its own name");
            }
        }));
    }

    /** Models may hold native memory (DJL); release them as soon as a newer training replaces them. */
    private static void closeAll(Map<String, List<Recommender>> trained) {
        Set<Object> closed = new HashSet<>();
        for (List<Recommender> recs : trained.values()) {
            for (Recommender r : recs) {
                if (r instanceof AutoCloseable c && closed.add(c)) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        LOG.warn("closing variant {} failed: {}", r.name(), e.toString());
                    }
                }
            }
        }
    }
}
