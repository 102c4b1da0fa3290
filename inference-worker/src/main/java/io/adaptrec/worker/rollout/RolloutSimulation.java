package io.adaptrec.worker.rollout;

import io.adaptrec.avro.RolloutAction;
import io.adaptrec.worker.eval.JsonReport;
import io.adaptrec.schemas.LatencyHistogram;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Runs {@link DecisionRule} on simulated experiments to measure what it promises: false decisions at
 * most α under continuous monitoring, its power, and how many outcomes it takes compared with a
 * fixed-horizon test.
 *
 * <p>Each experiment: every response goes to the treatment with probability {@code share}; it is a
 * hit with probability p (control) or p + D (treatment), an error with one rate shared by both arms,
 * and takes a latency from one lognormal shared by both arms, so the guardrails run on every look but
 * have no true effect (a guardrail roll-back here is a false decision). Every response has an
 * outcome, and the hit feeds all three primary metrics (hit@1, hit@5, ndcg alike). The rule decides
 * after every {@code batch} outcomes (continuous monitoring) until it promotes, rolls back, or the
 * horizon ends the experiment. Seeded: the same config gives the same result.
 */
public final class RolloutSimulation {

    /**
     * @param latencyMedianMicros median of the lognormal latency
     * @param latencySigma        its log-scale standard deviation
     */
    public record Config(int experiments, double effect, double baseRate, double treatmentShare, int batch,
                         double errorRate, double latencyMedianMicros, double latencySigma, long seed,
                         DecisionRule.Config rule) {

        public Config {
            if (experiments < 1) {
                throw new IllegalArgumentException("experiments must be >= 1, got " + experiments);
            }
            double pT = baseRate + effect;
            if (!(baseRate > 0 && baseRate < 1) || !(pT >= 0 && pT <= 1)) {
                throw new IllegalArgumentException("base rate must be in (0, 1) and base rate + effect in [0, 1], got "
                        + baseRate + " + " + effect);
            }
            if (!(treatmentShare > 0 && treatmentShare < 1)) {
                throw new IllegalArgumentException("treatment share must be in (0, 1), got " + treatmentShare);
            }
            if (batch < 1) {
                throw new IllegalArgumentException("batch must be >= 1, got " + batch);
            }
            if (!(errorRate >= 0 && errorRate < 1)) {
                throw new IllegalArgumentException("error rate must be in [0, 1), got " + errorRate);
            }
            if (!(latencyMedianMicros > 0) || !(latencySigma >= 0)) {
                throw new IllegalArgumentException("latency median must be > 0 and sigma >= 0");
            }
        }

        /** 1000 A/A experiments at p = 0.35, a 10 % canary, looks of 100 outcomes, 0.1 % errors, 20 ms median. */
        public static Config defaults() {
            return new Config(1000, 0, 0.35, 0.10, 100, 0.001, 20_000, 0.5, 1, DecisionRule.Config.defaults());
        }

        public Config with(int experiments, double effect, long seed) {
            return new Config(experiments, effect, baseRate, treatmentShare, batch, errorRate, latencyMedianMicros,
                    latencySigma, seed, rule);
        }
    }

    /**
     * The figures of one run.
     *
     * @param promoted          experiments promoted
     * @param rolledBack        experiments rolled back by a significant primary or a broken guardrail
     * @param guardrailRollbacks the part of {@code rolledBack} due to a guardrail
     * @param horizonRollbacks  experiments that reached the horizon undecided (kept production); not decisions
     * @param samplesToDecision total outcomes (both arms) at each decision, promoted or rolled back
     * @param fixedHorizon      the fixed-horizon plan for the same effect, α, power 0.8 and share; null when D = 0
     */
    public record Result(Config config, int promoted, int rolledBack, int guardrailRollbacks, int horizonRollbacks,
                         long[] samplesToDecision, FixedHorizon.Plan fixedHorizon, double seconds) {

        public int undecided() {
            return horizonRollbacks;
        }

        /** D = 0: any decision; D &gt; 0: roll-backs; D &lt; 0: promotions; over all experiments. */
        public double falseDecisionRate() {
            double d = config.effect();
            int wrong = d == 0 ? promoted + rolledBack : d > 0 ? rolledBack : promoted;
            return (double) wrong / config.experiments();
        }

        /** Share decided in the correct direction; NaN when D = 0 (there is none). */
        public double power() {
            double d = config.effect();
            if (d == 0) {
                return Double.NaN;
            }
            return (double) (d > 0 ? promoted : rolledBack - guardrailRollbacks) / config.experiments();
        }

        public double meanSamplesToDecision() {
            return samplesToDecision.length == 0 ? Double.NaN : Arrays.stream(samplesToDecision).average().orElseThrow();
        }

        public double medianSamplesToDecision() {
            int n = samplesToDecision.length;
            if (n == 0) {
                return Double.NaN;
            }
            long[] s = samplesToDecision.clone();
            Arrays.sort(s);
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
        }

        public Map<String, Object> toJsonTree() {
            DecisionRule.Config r = config.rule();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("experiments", config.experiments());
            m.put("effect", config.effect());
            m.put("base_rate", config.baseRate());
            m.put("treatment_share", config.treatmentShare());
            m.put("alpha", r.alpha());
            m.put("tau", r.tau());
            m.put("primary_metric", r.primaryMetric());
            m.put("min_samples_per_arm", r.minSamplesPerArm());
            m.put("max_samples_per_arm", r.maxSamplesPerArm());
            m.put("batch", config.batch());
            m.put("error_rate", config.errorRate());
            m.put("latency_median_micros", config.latencyMedianMicros());
            m.put("latency_sigma", config.latencySigma());
            m.put("seed", config.seed());
            m.put("promoted", promoted);
            m.put("rolled_back", rolledBack);
            m.put("guardrail_rollbacks", guardrailRollbacks);
            m.put("horizon_rollbacks", horizonRollbacks);
            m.put("undecided", undecided());
            m.put("false_decision_rate", falseDecisionRate());
            m.put("power", finite(power()));
            m.put("mean_samples_to_decision", finite(meanSamplesToDecision()));
            m.put("median_samples_to_decision", finite(medianSamplesToDecision()));
            m.put("fixed_horizon_samples", fixedHorizon == null ? null : fixedHorizon.total());
            m.put("seconds", Math.round(seconds * 1000) / 1000.0);
            return m;
        }

        private static Double finite(double x) {
            return Double.isFinite(x) ? x : null;
        }

        public String toJson() {
            return JsonReport.render(toJsonTree());
        }

        public void writeJson(Path file) throws IOException {
            JsonReport.write(file, toJsonTree());
        }

        /** A readable summary. */
        public String table() {
            DecisionRule.Config r = config.rule();
            StringBuilder s = new StringBuilder();
            s.append(String.format(Locale.ROOT, "%d experiments: %s = %.3f → %.3f (D = %+.3f), treatment share %.2f, "
                    + "looks every %d outcomes%n", config.experiments(), r.primaryMetric(), config.baseRate(),
                    config.baseRate() + config.effect(), config.effect(), config.treatmentShare(), config.batch()));
            s.append(String.format(Locale.ROOT, "rule: alpha %.3f, tau %.3f, %d..%d outcomes per arm%n", r.alpha(), r.tau(),
                    r.minSamplesPerArm(), r.maxSamplesPerArm()));
            row(s, "promoted", promoted);
            row(s, "rolled back", rolledBack);
            row(s, "  of which by a guardrail", guardrailRollbacks);
            row(s, "undecided (horizon, kept production)", horizonRollbacks);
            s.append(String.format(Locale.ROOT, "%-40s %10.4f%s%n", "false decision rate", falseDecisionRate(),
                    String.format(Locale.ROOT, "   (alpha %.3f)", r.alpha())));
            s.append(String.format(Locale.ROOT, "%-40s %10s%n", "power", Double.isNaN(power()) ? "n/a"
                    : String.format(Locale.ROOT, "%.4f", power())));
            s.append(String.format(Locale.ROOT, "%-40s %10s%n", "outcomes to decision, mean", count(meanSamplesToDecision())));
            s.append(String.format(Locale.ROOT, "%-40s %10s%n", "outcomes to decision, median", count(medianSamplesToDecision())));
            s.append(String.format(Locale.ROOT, "%-40s %10s%n", "fixed horizon (power 0.8), outcomes",
                    fixedHorizon == null ? "n/a" : Long.toString(fixedHorizon.total())));
            s.append(String.format(Locale.ROOT, "%-40s %10.1f%n", "seconds", seconds));
            return s.toString();
        }

        private static void row(StringBuilder s, String name, int n) {
            s.append(String.format(Locale.ROOT, "%-40s %10d%n", name, n));
        }

        private static String count(double x) {
            return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.0f", x);
        }
    }

    private final Config config;
    private final DecisionRule rule;

    public RolloutSimulation(Config config) {
        this.config = config;
        this.rule = new DecisionRule(config.rule());
    }

    /**
     * Runs every experiment.
     *
     * @param done called with the number of experiments finished after each one
     */
    public Result run(IntConsumer done) {
        long started = System.nanoTime();
        SplittableRandom root = new SplittableRandom(config.seed());
        int promoted = 0;
        int rolledBack = 0;
        int guardrail = 0;
        int horizon = 0;
        long[] samples = new long[config.experiments()];
        int decided = 0;
        for (int e = 0; e < config.experiments(); e++) {
            DecisionRule.Verdict v = experiment(root.split());
            if (v.rule() == DecisionRule.Rule.HORIZON) {
                horizon++;
            } else {
                if (v.action() == RolloutAction.PROMOTE) {
                    promoted++;
                } else {
                    rolledBack++;
                    if (v.rule() != DecisionRule.Rule.PRIMARY) {
                        guardrail++;
                    }
                }
                samples[decided++] = v.samplesControl() + v.samplesTreatment();
            }
            done.accept(e + 1);
        }
        DecisionRule.Config r = config.rule();
        FixedHorizon.Plan plan = config.effect() == 0 ? null
                : FixedHorizon.twoProportion(config.baseRate(), config.effect(), r.alpha(), 0.8, config.treatmentShare());
        return new Result(config, promoted, rolledBack, guardrail, horizon, Arrays.copyOf(samples, decided), plan,
                (System.nanoTime() - started) / 1e9);
    }

    /** One experiment until a decision; the rule's last verdict (PROMOTE or ROLLBACK). */
    private DecisionRule.Verdict experiment(SplittableRandom rnd) {
        Arm control = new Arm(config.baseRate());
        Arm treatment = new Arm(config.baseRate() + config.effect());
        double mu = Math.log(config.latencyMedianMicros());
        double pValue = 1;
        while (true) {
            for (int i = 0; i < config.batch(); i++) {
                Arm arm = rnd.nextDouble() < config.treatmentShare() ? treatment : control;
                arm.respond(rnd, mu, config.latencySigma(), config.errorRate());
            }
            DecisionRule.Verdict v = rule.decide(control.totals(), treatment.totals(), pValue);
            if (v.action() != RolloutAction.CONTINUE) {
                return v;
            }
            pValue = v.pValue();
        }
    }

    /** One arm's running counts (mutable: the simulation's own bookkeeping, never shared). */
    private static final class Arm {
        final double hitRate;
        final LatencyHistogram latency = new LatencyHistogram();
        long served;
        long errors;
        long hits;

        Arm(double hitRate) {
            this.hitRate = hitRate;
        }

        void respond(SplittableRandom rnd, double mu, double sigma, double errorRate) {
            served++;
            if (rnd.nextDouble() < errorRate) {
                errors++;
            }
            if (rnd.nextDouble() < hitRate) {
                hits++;
            }
            latency.record(Math.round(Math.exp(mu + sigma * rnd.nextGaussian())));
        }

        // The histogram is handed over uncopied: the rule only reads it, before the next look adds to it.
        ArmTotals totals() {
            return new ArmTotals(served, errors, served, hits, hits, hits, latency, 0, 0);
        }
    }
}
