package io.adaptrec.worker.rollout;

import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.worker.rollout.SequentialTest.Result;
import io.adaptrec.worker.rollout.SequentialTest.Sample;
import java.time.Instant;
import java.util.Locale;

/**
 * When to promote a treatment, roll it back or keep collecting: an always-valid sequential test
 * ({@link SequentialTest}) on the primary metric, with two guardrails on the same confidence
 * sequences. Pure statistics: the controller sums each arm's {@code ArmMetrics} into
 * {@link ArmTotals} and calls {@link #decide} as often as it likes; the type I error stays at α
 * however often it looks.
 *
 * <p>The rules, in the order they are applied:
 * <ol>
 *   <li><b>Guardrail breaks</b> (ROLLBACK), as soon as both arms have served
 *       {@code guardrailMinServed}, before the primary has its minimum sample (a treatment that
 *       fails every request may never produce outcomes):
 *       <ul>
 *         <li>errors: the lower end of the confidence sequence of errRate<sub>T</sub> −
 *             errRate<sub>C</sub> (errors / served) exceeds {@code errorRateMargin};</li>
 *         <li>latency: with L = control p99 × (1 + {@code latencyP99Margin}) and slowRate = the share
 *             of responses slower than L, the lower end for slowRate<sub>T</sub> −
 *             slowRate<sub>C</sub> exceeds {@value #SLOW_RATE_MARGIN}.</li>
 *       </ul></li>
 *   <li><b>Minimum sample</b> (CONTINUE) until both arms have {@code minSamplesPerArm} outcomes;
 *       only then does Λ enter the p-value: the normal approximation with an estimated variance is
 *       poor on a handful of outcomes, and an early spurious Λ would stick in the running minimum.</li>
 *   <li><b>Primary</b>: p ≤ α and Δ̂ &lt; 0 → ROLLBACK; p ≤ α and Δ̂ &gt; 0 → PROMOTE if both
 *       guardrails are shown non-inferior (upper end of their confidence sequence ≤ their margin),
 *       otherwise CONTINUE until they are.</li>
 *   <li><b>Horizon</b>: when both arms reach {@code maxSamplesPerArm} outcomes without a decision,
 *       ROLLBACK ("keep production"). This truncates the sequential test: it can only lower its type I
 *       error (fewer chances to cross), and costs power only against effects too small to be detected
 *       within the horizon, for which keeping production is the intended default.</li>
 * </ol>
 *
 * <p>Why the latency guardrail is a proportion and not a p99 difference: a confidence sequence for a
 * quantile difference needs more than bucket counts, a proportion's does not, and a p99 regression
 * shows up as tail mass: the control puts at most 1 % of its traffic beyond its own p99, so beyond
 * L (one bucket and {@code latencyP99Margin} further) it puts less. Breaking when the treatment puts
 * <em>confidently more than one extra point</em> of its traffic beyond L means, for a control with
 * 0.5 % beyond L, that the treatment's p98.5 is past the control's p99 × (1 + margin): a clear
 * regression of the tail, not bucket noise, and one a canary shows with a few hundred responses
 * when it is large (3× slower puts a quarter or more of the traffic beyond L).
 */
public final class DecisionRule {

    /**
     * The latency guardrail's tolerance: extra share of the treatment's traffic beyond L. Tied to
     * the p99 the bound is read from (1 % of control traffic is beyond p99), so not configurable
     * separately from it.
     */
    public static final double SLOW_RATE_MARGIN = 0.01;

    /**
     * The rule's settings, validated once.
     *
     * @param alpha              type I error of the whole experiment, (0, 0.5]
     * @param tau                mixing standard deviation, the scale of effects expected on the primary metric, (0, 1]
     * @param primaryMetric      {@code hit@1}, {@code hit@5} or {@code ndcg}
     * @param minSamplesPerArm   outcomes on each arm before the primary may decide, ≥ 1
     * @param maxSamplesPerArm   horizon: outcomes on both arms at which an undecided test keeps production, &gt; min
     * @param errorRateMargin    absolute extra error rate tolerated, [0, 1)
     * @param latencyP99Margin   relative margin on the control's p99 defining "slow", ≥ 0
     * @param guardrailMinServed responses served on each arm before a guardrail is evaluated, ≥ 1
     */
    public record Config(double alpha, double tau, String primaryMetric, long minSamplesPerArm, long maxSamplesPerArm,
                         double errorRateMargin, double latencyP99Margin, long guardrailMinServed) {

        public Config {
            require(alpha > 0 && alpha <= 0.5, "alpha", "(0, 0.5]", alpha);
            require(tau > 0 && tau <= 1, "tau", "(0, 1]", tau);
            if (!ArmTotals.HIT_AT_1.equals(primaryMetric) && !ArmTotals.HIT_AT_5.equals(primaryMetric)
                    && !ArmTotals.NDCG.equals(primaryMetric)) {
                throw new IllegalArgumentException("primaryMetric must be hit@1, hit@5 or ndcg, got '" + primaryMetric + "'");
            }
            require(minSamplesPerArm >= 1, "minSamplesPerArm", ">= 1", minSamplesPerArm);
            require(maxSamplesPerArm > minSamplesPerArm, "maxSamplesPerArm", "> minSamplesPerArm (" + minSamplesPerArm + ")",
                    maxSamplesPerArm);
            require(errorRateMargin >= 0 && errorRateMargin < 1, "errorRateMargin", "[0, 1)", errorRateMargin);
            require(latencyP99Margin >= 0 && latencyP99Margin < 100, "latencyP99Margin", "[0, 100)", latencyP99Margin);
            require(guardrailMinServed >= 1, "guardrailMinServed", ">= 1", guardrailMinServed);
        }

        private static void require(boolean ok, String key, String range, Object got) {
            if (!ok) {
                throw new IllegalArgumentException(key + " must be in " + range + ", got " + got);
            }
        }

        /** alpha 0.05, tau 0.05, hit@1, 200 to 20000 outcomes per arm, +0.01 errors, p99 +20 %, 200 served. */
        public static Config defaults() {
            return new Config(0.05, 0.05, ArmTotals.HIT_AT_1, 200, 20_000, 0.01, 0.20, 200);
        }

        public Config withAlpha(double v) {
            return new Config(v, tau, primaryMetric, minSamplesPerArm, maxSamplesPerArm, errorRateMargin, latencyP99Margin, guardrailMinServed);
        }

        public Config withTau(double v) {
            return new Config(alpha, v, primaryMetric, minSamplesPerArm, maxSamplesPerArm, errorRateMargin, latencyP99Margin, guardrailMinServed);
        }

        public Config withPrimaryMetric(String v) {
            return new Config(alpha, tau, v, minSamplesPerArm, maxSamplesPerArm, errorRateMargin, latencyP99Margin, guardrailMinServed);
        }

        public Config withSamplesPerArm(long min, long max) {
            return new Config(alpha, tau, primaryMetric, min, max, errorRateMargin, latencyP99Margin, guardrailMinServed);
        }
    }

    /** Which rule produced a verdict (for counting and dashboards; the reason says it in words). */
    public enum Rule {
        MIN_SAMPLES, ERROR_GUARDRAIL, LATENCY_GUARDRAIL, PRIMARY, GUARDRAILS_UNPROVEN, NOT_SIGNIFICANT, HORIZON
    }

    /**
     * A decision with its evidence on the primary metric.
     *
     * @param statistic  Λ at this look (computed from the first outcome on, informative only before
     *                   the minimum sample)
     * @param pValue     always-valid p-value; pass it back as {@code previousPValue} at the next look
     * @param effectLow  lower end of the confidence sequence for the effect
     * @param effectHigh upper end
     */
    public record Verdict(RolloutAction action, Rule rule, String reason, String primaryMetric, double statistic,
                          double boundary, double pValue, double effect, double effectLow, double effectHigh,
                          long samplesControl, long samplesTreatment) {

        public RolloutDecision toDecision(String experimentId, String actor, Instant decidedAt) {
            return RolloutDecision.newBuilder()
                    .setExperimentId(experimentId)
                    .setAction(action)
                    .setActor(actor)
                    .setReason(reason)
                    .setPrimaryMetric(primaryMetric)
                    .setStatistic(finite(statistic))
                    .setBoundary(boundary)
                    .setPValue(pValue)
                    .setEffect(effect)
                    .setEffectLow(effectLow)
                    .setEffectHigh(effectHigh)
                    .setSamplesControl(samplesControl)
                    .setSamplesTreatment(samplesTreatment)
                    .setDecidedAt(decidedAt)
                    .build();
        }

        // Λ overflows to +∞ on overwhelming evidence; JSON consumers of the decision log cannot read it.
        private static double finite(double x) {
            return Double.isInfinite(x) ? Double.MAX_VALUE : x;
        }
    }

    /** A guardrail's confidence sequence against its margin. */
    private record Guardrail(String name, Result cs, double margin, String unavailable) {
        boolean broken() {
            return unavailable == null && cs.low() > margin;
        }

        boolean nonInferior() {
            return unavailable == null && cs.high() <= margin;
        }

        String describe() {
            if (unavailable != null) {
                return name + " not evaluable (" + unavailable + ")";
            }
            return String.format(Locale.ROOT, "%s %+.4f [%+.4f, %+.4f] vs margin %.4f", name, cs.effect(), cs.low(),
                    cs.high(), margin);
        }
    }

    private final Config config;
    private final SequentialTest test;

    public DecisionRule(Config config) {
        this.config = config;
        this.test = new SequentialTest(config.alpha(), config.tau());
    }

    public Config config() {
        return config;
    }

    /**
     * Decides on the cumulative totals of both arms.
     *
     * @param previousPValue the {@link Verdict#pValue()} of the previous call for this experiment, 1
     *                       at the first
     * @return CONTINUE, PROMOTE or ROLLBACK with the numbers that led to it
     */
    public Verdict decide(ArmTotals control, ArmTotals treatment, double previousPValue) {
        if (!(previousPValue >= 0 && previousPValue <= 1)) {
            throw new IllegalArgumentException("previousPValue must be in [0, 1], got " + previousPValue);
        }
        String metric = config.primaryMetric();
        Result primary = test.test(control.primary(metric), treatment.primary(metric), previousPValue);
        long nC = control.outcomes();
        long nT = treatment.outcomes();

        boolean sampled = nC >= config.minSamplesPerArm() && nT >= config.minSamplesPerArm();
        double p = sampled ? primary.pValue() : previousPValue;

        Guardrail errors = errorGuardrail(control, treatment);
        Guardrail latency = latencyGuardrail(control, treatment);
        for (Guardrail g : new Guardrail[] {errors, latency}) {
            if (g.broken()) {
                Rule rule = g == errors ? Rule.ERROR_GUARDRAIL : Rule.LATENCY_GUARDRAIL;
                return verdict(RolloutAction.ROLLBACK, rule, "guardrail broken: " + g.describe()
                        + " (lower end of the confidence sequence above the margin)", primary, p, nC, nT);
            }
        }

        if (!sampled) {
            long min = config.minSamplesPerArm();
            return verdict(RolloutAction.CONTINUE, Rule.MIN_SAMPLES, String.format(Locale.ROOT,
                    "waiting for the minimum sample of %d outcomes per arm: control %d, treatment %d "
                            + "(%d more needed)", min, nC, nT, Math.max(0, min - nC) + Math.max(0, min - nT)),
                    primary, previousPValue, nC, nT);
        }

        String evidence = String.format(Locale.ROOT, "mSPRT on %s: Λ = %.3g vs 1/α = %.3g, p = %.4f, effect %+.4f "
                + "[%+.4f, %+.4f], %d control / %d treatment outcomes", metric, primary.statistic(),
                primary.boundary(), p, primary.effect(), primary.low(), primary.high(), nC, nT);
        boolean horizon = nC >= config.maxSamplesPerArm() && nT >= config.maxSamplesPerArm();
        if (p <= config.alpha() && primary.effect() < 0) {
            return verdict(RolloutAction.ROLLBACK, Rule.PRIMARY, "treatment worse: " + evidence, primary, p, nC, nT);
        }
        if (p <= config.alpha() && primary.effect() > 0) {
            String guards = errors.describe() + "; " + latency.describe();
            if (errors.nonInferior() && latency.nonInferior()) {
                return verdict(RolloutAction.PROMOTE, Rule.PRIMARY, "treatment better: " + evidence
                        + "; guardrails non-inferior: " + guards, primary, p, nC, nT);
            }
            if (!horizon) {
                return verdict(RolloutAction.CONTINUE, Rule.GUARDRAILS_UNPROVEN, "treatment better but guardrails "
                        + "not yet shown non-inferior: " + guards + "; " + evidence, primary, p, nC, nT);
            }
            return verdict(RolloutAction.ROLLBACK, Rule.HORIZON, "horizon reached with guardrails not shown "
                    + "non-inferior: keep production; " + guards + "; " + evidence, primary, p, nC, nT);
        }
        if (horizon) {
            return verdict(RolloutAction.ROLLBACK, Rule.HORIZON, String.format(Locale.ROOT,
                    "horizon reached without significant difference: keep production (%d outcomes per arm); %s",
                    config.maxSamplesPerArm(), evidence), primary, p, nC, nT);
        }
        return verdict(RolloutAction.CONTINUE, Rule.NOT_SIGNIFICANT, "not significant yet: " + evidence, primary, p, nC, nT);
    }

    private Guardrail errorGuardrail(ArmTotals control, ArmTotals treatment) {
        String name = "error rate difference";
        if (control.served() < config.guardrailMinServed() || treatment.served() < config.guardrailMinServed()) {
            return waiting(name, control.served(), treatment.served(), "served");
        }
        return new Guardrail(name, test.test(control.errorRate(), treatment.errorRate(), 1),
                config.errorRateMargin(), null);
    }

    private Guardrail latencyGuardrail(ArmTotals control, ArmTotals treatment) {
        String name = "slow-response share difference";
        long nC = control.latency().count();
        long nT = treatment.latency().count();
        if (nC < config.guardrailMinServed() || nT < config.guardrailMinServed()) {
            return waiting(name, nC, nT, "latencies recorded");
        }
        long p99 = control.latency().quantileMicros(0.99);
        if (p99 == Long.MAX_VALUE) {
            return new Guardrail(name, null, SLOW_RATE_MARGIN, "control p99 beyond the histogram's last bound");
        }
        long bound = (long) Math.ceil(p99 * (1 + config.latencyP99Margin()));
        return new Guardrail(name + " (slow: > " + bound + " µs = control p99 " + p99 + " µs × "
                + (1 + config.latencyP99Margin()) + ")",
                test.test(control.slowRate(bound), treatment.slowRate(bound), 1), SLOW_RATE_MARGIN, null);
    }

    private Guardrail waiting(String name, long control, long treatment, String what) {
        return new Guardrail(name, null, 0, String.format(Locale.ROOT, "%d/%d control, %d/%d treatment %s",
                control, config.guardrailMinServed(), treatment, config.guardrailMinServed(), what));
    }

    private Verdict verdict(RolloutAction action, Rule rule, String reason, Result primary, double pValue,
                            long nC, long nT) {
        return new Verdict(action, rule, reason, config.primaryMetric(), primary.statistic(), primary.boundary(),
                pValue, primary.effect(), primary.low(), primary.high(), nC, nT);
    }
}
