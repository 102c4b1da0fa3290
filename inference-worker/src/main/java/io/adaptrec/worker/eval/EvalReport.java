package io.adaptrec.worker.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one {@link EvalRunner#run}: per variant and seed the metric values, and their mean
 * and sample standard deviation over seeds. Renders as a table for people and as JSON for tools:
 *
 * <pre>{"dataset":…, "protocol":…, "stage":"test", "seeds":S, "seed_values":[…], "test_users":…,
 *  "train_seconds":…, "eval_seconds":…, "variants":{NAME:{"hr@1":mean, "hr@1_std":…, "ndcg@5":…,
 *  "ndcg@20":…, "valid_ratio":…, "hr@10_full":… or null, …, "per_seed":[…]}},
 *  "paired":{"A - B":{"hr@1":{"mean":…, "ci95":[lo, hi], "per_seed":[…]}, "ndcg@5":{…}}, …},
 *  "machine":{…}}</pre>
 *
 * <p>{@code paired} holds, for the first variant A and every other variant B, the seed-by-seed
 * differences A - B with a 95 % Student-t interval of their mean ({@link Paired}). With
 * {@code retrained} every seed is a separate training, so the interval covers training variance; without it
 * one training was scored on several candidate samples and the interval covers that sampling only.
 */
public record EvalReport(String dataset, Protocol protocol, Stage stage, List<Long> seeds, int testUsers,
        int trainUsers, long trainInteractions, int candidates, double trainSeconds, double evalSeconds,
        List<VariantResult> variants, Map<String, Object> machine, String createdAt, boolean timeSafe,
        boolean retrained) {

    public static final String HR1 = "hr@1";
    public static final String NDCG5 = "ndcg@5";
    public static final String NDCG20 = "ndcg@20";
    public static final String VALID = "valid_ratio";
    public static final String HR10_FULL = "hr@10_full";
    public static final String NDCG10_FULL = "ndcg@10_full";
    /** Report order; the full-catalogue ones are absent for variants that cannot rank everything. */
    public static final List<String> METRICS = List.of(HR1, NDCG5, NDCG20, VALID, HR10_FULL, NDCG10_FULL);

    public EvalReport {
        seeds = List.copyOf(seeds);
        variants = List.copyOf(variants);
        machine = Map.copyOf(machine);
    }

    /** One variant's metrics for one seed; {@code metrics} lacks the full-catalogue keys where n/a. */
    public record SeedResult(long seed, Map<String, Double> metrics) {
        public SeedResult {
            metrics = Map.copyOf(metrics);
        }
    }

    /**
     * @param factory      the factory that trained it
     * @param trainSeconds mean seconds its factory spent training, per training run
     * @param evalSeconds  seconds spent in its {@code score} calls, all seeds together
     */
    public record VariantResult(String name, String factory, List<SeedResult> perSeed, double trainSeconds,
            double evalSeconds) {

        public VariantResult {
            perSeed = List.copyOf(perSeed);
        }

        /** Mean over seeds, or null when the metric is n/a for this variant. */
        public Double mean(String metric) {
            List<Double> v = values(metric);
            return v.isEmpty() ? null : v.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        }

        /** Sample standard deviation over seeds (n - 1 denominator; 0 for one seed), or null when n/a. */
        public Double std(String metric) {
            List<Double> v = values(metric);
            if (v.isEmpty()) {
                return null;
            }
            if (v.size() == 1) {
                return 0.0;
            }
            double mean = mean(metric);
            double ss = v.stream().mapToDouble(x -> (x - mean) * (x - mean)).sum();
            return Math.sqrt(ss / (v.size() - 1));
        }

        private List<Double> values(String metric) {
            List<Double> v = new ArrayList<>();
            for (SeedResult r : perSeed) {
                Double x = r.metrics().get(metric);
                if (x != null) {
                    v.add(x);
                }
            }
            return v;
        }
    }

    /** Metrics the paired differences are reported for. */
    public static final List<String> PAIRED_METRICS = List.of(HR1, NDCG5);

    /**
     * Seed-by-seed differences {@code a - b} of one metric (both variants scored on the same seed's
     * candidates, and with retraining on models trained with the same seed), their mean and the 95 %
     * Student-t interval of the mean (n - 1 degrees of freedom; null bounds for a single seed).
     */
    public record Paired(String a, String b, String metric, List<Double> perSeed, double mean, Double low,
                         Double high) {

        public Paired {
            perSeed = List.copyOf(perSeed);
        }

        static Paired of(VariantResult a, VariantResult b, String metric) {
            List<Double> d = new ArrayList<>();
            for (SeedResult ra : a.perSeed()) {
                for (SeedResult rb : b.perSeed()) {
                    Double x = ra.metrics().get(metric);
                    Double y = rb.metrics().get(metric);
                    if (rb.seed() == ra.seed() && x != null && y != null) {
                        d.add(x - y);
                    }
                }
            }
            if (d.isEmpty()) {
                return null;
            }
            double mean = d.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            if (d.size() < 2) {
                return new Paired(a.name(), b.name(), metric, d, mean, null, null);
            }
            double ss = d.stream().mapToDouble(x -> (x - mean) * (x - mean)).sum();
            double se = Math.sqrt(ss / (d.size() - 1) / d.size());
            double t = new org.apache.commons.math3.distribution.TDistribution(d.size() - 1)
                    .inverseCumulativeProbability(0.975);
            return new Paired(a.name(), b.name(), metric, d, mean, mean - t * se, mean + t * se);
        }

        /** Whether the interval excludes 0 (false without an interval). */
        public boolean excludesZero() {
            return low != null && (low > 0 || high < 0);
        }
    }

    /** The first variant against every other one, for {@link #PAIRED_METRICS}. */
    public List<Paired> paired() {
        List<Paired> out = new ArrayList<>();
        for (int i = 1; i < variants.size(); i++) {
            for (String metric : PAIRED_METRICS) {
                Paired p = Paired.of(variants.get(0), variants.get(i), metric);
                if (p != null) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    public VariantResult variant(String name) {
        return variants.stream().filter(v -> v.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no variant '" + name + "' in this report"));
    }

    /** The JSON document as nested maps, in a stable key order. */
    public Map<String, Object> toJsonTree() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("dataset", dataset);
        root.put("protocol", protocol.cliName());
        root.put("stage", stage.cliName());
        root.put("seeds", seeds.size());
        root.put("seed_values", seeds);
        root.put("test_users", testUsers);
        root.put("train_users", trainUsers);
        root.put("train_interactions", trainInteractions);
        root.put("candidates", candidates);
        root.put("time_safe", timeSafe);
        root.put("train_seconds", round(trainSeconds));
        root.put("eval_seconds", round(evalSeconds));
        Map<String, Object> vs = new LinkedHashMap<>();
        for (VariantResult v : variants) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (String metric : METRICS) {
                m.put(metric, finite(v.mean(metric)));
                m.put(metric + "_std", finite(v.std(metric)));
            }
            m.put("factory", v.factory());
            m.put("train_seconds", round(v.trainSeconds()));
            m.put("eval_seconds", round(v.evalSeconds()));
            List<Map<String, Object>> perSeed = new ArrayList<>();
            for (SeedResult r : v.perSeed()) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("seed", r.seed());
                for (String metric : METRICS) {
                    if (r.metrics().containsKey(metric)) {
                        s.put(metric, finite(r.metrics().get(metric)));
                    }
                }
                perSeed.add(s);
            }
            m.put("per_seed", perSeed);
            vs.put(v.name(), m);
        }
        root.put("variants", vs);
        root.put("retrained_per_seed", retrained);
        Map<String, Object> paired = new LinkedHashMap<>();
        for (Paired p : paired()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mean", finite(p.mean()));
            m.put("ci95", p.low() == null ? null : List.of(p.low(), p.high()));
            m.put("per_seed", p.perSeed());
            @SuppressWarnings("unchecked")
            Map<String, Object> byMetric = (Map<String, Object>) paired.computeIfAbsent(p.a() + " - " + p.b(),
                    k -> new LinkedHashMap<String, Object>());
            byMetric.put(p.metric(), m);
        }
        root.put("paired", paired);
        root.put("machine", new java.util.TreeMap<>(machine));
        root.put("created_at", createdAt);
        return root;
    }

    public String toJson() {
        return JsonReport.render(toJsonTree());
    }

    public void writeJson(Path file) throws IOException {
        JsonReport.write(file, toJsonTree());
    }

    /** A fixed-width table: mean ± std per metric, n/a where a variant cannot rank the catalogue. */
    public String table() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%s / %s / %s: %d users evaluated, %d seeds %s, %d candidates; "
                + "training %d users / %d interactions; %s%n", dataset, protocol.cliName(), stage.cliName(), testUsers,
                seeds.size(), seeds, candidates, trainUsers, trainInteractions,
                timeSafe ? "time-safe (nothing of other users from a query's moment on)" : "NOT time-safe (--no-time-safe)"));
        int nameWidth = Math.max(8, variants.stream().mapToInt(v -> v.name().length()).max().orElse(0));
        String[] headers = {"HR@1", "NDCG@5", "NDCG@20", "ValidRatio", "HR@10 full", "NDCG@10 full"};
        s.append(String.format(Locale.ROOT, "%-" + nameWidth + "s", "variant"));
        for (String h : headers) {
            s.append(String.format(Locale.ROOT, "  %-15s", h));
        }
        s.append(String.format(Locale.ROOT, "  %9s%n", "train s"));
        for (VariantResult v : variants) {
            s.append(String.format(Locale.ROOT, "%-" + nameWidth + "s", v.name()));
            for (String metric : METRICS) {
                Double mean = v.mean(metric);
                String cell = mean == null ? "n/a"
                        : String.format(Locale.ROOT, "%.4f ± %.4f", mean, v.std(metric));
                s.append(String.format(Locale.ROOT, "  %-15s", cell));
            }
            s.append(String.format(Locale.ROOT, "  %9.1f%n", v.trainSeconds()));
        }
        s.append(String.format(Locale.ROOT, "train %.1f s, eval %.1f s; pessimistic ties; std over seeds (n-1)%n",
                trainSeconds, evalSeconds));
        List<Paired> paired = paired();
        if (!paired.isEmpty()) {
            s.append(String.format(Locale.ROOT, "paired by seed (%s), mean difference [95%% t-interval]:%n",
                    retrained ? "one training per seed" : "ONE training, candidate samples only"));
            for (Paired p : paired) {
                s.append(String.format(Locale.ROOT, "  %-" + (2 * nameWidth + 3) + "s %-8s %+.4f %s%s%n",
                        p.a() + " - " + p.b(), p.metric(), p.mean(),
                        p.low() == null ? "(one seed: no interval)"
                                : String.format(Locale.ROOT, "[%+.4f, %+.4f]", p.low(), p.high()),
                        p.excludesZero() ? "  *" : ""));
            }
        }
        return s.toString();
    }

    private static Double finite(Double x) {
        return x == null || !Double.isFinite(x) ? null : x;
    }

    private static double round(double seconds) {
        return Math.round(seconds * 1000.0) / 1000.0;
    }
}
