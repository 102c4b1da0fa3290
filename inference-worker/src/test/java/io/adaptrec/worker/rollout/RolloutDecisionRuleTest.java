package io.adaptrec.worker.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.worker.rollout.DecisionRule.Rule;
import io.adaptrec.worker.rollout.DecisionRule.Verdict;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RolloutDecisionRuleTest {

    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
    static final long MEDIAN_MICROS = 20_000;

    private final DecisionRule rule = new DecisionRule(DecisionRule.Config.defaults());

    /**
     * An arm with {@code n} served responses, each with an outcome, a hit rate of {@code hitRate},
     * {@code errors} errors and lognormal latencies (median {@code medianMicros}, σ 0.5) placed
     * deterministically at their quantiles, so every run sees the same histogram.
     */
    static ArmTotals arm(long n, double hitRate, long errors, long medianMicros) {
        LatencyHistogram h = new LatencyHistogram();
        for (long i = 0; i < n; i++) {
            double z = FixedHorizon.normalQuantile((i + 0.5) / n);
            h.record(Math.round(medianMicros * Math.exp(0.5 * z)));
        }
        long hits = Math.round(hitRate * n);
        return new ArmTotals(n, errors, n, hits, hits, hits * 0.8, h, 0, 0);
    }

    static ArmTotals arm(long n, double hitRate) {
        return arm(n, hitRate, 0, MEDIAN_MICROS);
    }

    @Test
    void clearlyBetterTreatmentIsPromoted() {
        Verdict v = rule.decide(arm(2000, 0.35), arm(2000, 0.45), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.PROMOTE);
        assertThat(v.rule()).isEqualTo(Rule.PRIMARY);
        assertThat(v.pValue()).isLessThanOrEqualTo(0.05);
        assertThat(v.statistic()).isGreaterThanOrEqualTo(v.boundary());
        assertThat(v.effect()).isCloseTo(0.10, within(1e-9));
        assertThat(v.effectLow()).isPositive();
        assertThat(v.reason()).contains("treatment better", "hit@1", "guardrails non-inferior");
    }

    @Test
    void clearlyWorseTreatmentIsRolledBack() {
        Verdict v = rule.decide(arm(2000, 0.35), arm(2000, 0.25), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.ROLLBACK);
        assertThat(v.rule()).isEqualTo(Rule.PRIMARY);
        assertThat(v.effectHigh()).isNegative();
        assertThat(v.reason()).contains("treatment worse");
    }

    @Test
    void nothingIsDecidedBeforeTheMinimumSample() {
        Verdict equal = rule.decide(arm(150, 0.35), arm(150, 0.35), 1);
        assertThat(equal.action()).isEqualTo(RolloutAction.CONTINUE);
        assertThat(equal.rule()).isEqualTo(Rule.MIN_SAMPLES);
        assertThat(equal.reason()).contains("control 150, treatment 150", "100 more needed");
        // not even an overwhelming difference, and Λ does not enter the p-value yet
        Verdict better = rule.decide(arm(190, 0.20), arm(190, 0.60), 1);
        assertThat(better.statistic()).isGreaterThan(better.boundary());
        assertThat(better.action()).isEqualTo(RolloutAction.CONTINUE);
        assertThat(better.pValue()).isEqualTo(1.0);
        // past the minimum, equal arms are not significant
        Verdict later = rule.decide(arm(2000, 0.35), arm(2000, 0.35), 1);
        assertThat(later.action()).isEqualTo(RolloutAction.CONTINUE);
        assertThat(later.rule()).isEqualTo(Rule.NOT_SIGNIFICANT);
    }

    @Test
    void errorGuardrailBreakRollsBackEvenWhenThePrimaryIsBetter() {
        Verdict v = rule.decide(arm(2000, 0.35, 2, MEDIAN_MICROS), arm(2000, 0.45, 200, MEDIAN_MICROS), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.ROLLBACK);
        assertThat(v.rule()).isEqualTo(Rule.ERROR_GUARDRAIL);
        assertThat(v.reason()).contains("guardrail broken", "error rate");
        // and before the primary's minimum sample: a treatment failing requests may produce no outcomes
        Verdict early = rule.decide(arm(250, 0.35, 0, MEDIAN_MICROS), new ArmTotals(250, 100, 20, 5, 5, 4,
                arm(250, 0.35).latency(), 0, 0), 1);
        assertThat(early.rule()).isEqualTo(Rule.ERROR_GUARDRAIL);
    }

    @Test
    void latencyRegressionRollsBack() {
        Verdict v = rule.decide(arm(2000, 0.35), arm(2000, 0.45, 0, 3 * MEDIAN_MICROS), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.ROLLBACK);
        assertThat(v.rule()).isEqualTo(Rule.LATENCY_GUARDRAIL);
        assertThat(v.reason()).contains("slow-response share", "control p99");
        // a 10 % canary with 300 responses already shows it
        assertThat(rule.decide(arm(2700, 0.35), arm(300, 0.35, 0, 3 * MEDIAN_MICROS), 1).rule())
                .isEqualTo(Rule.LATENCY_GUARDRAIL);
        // the same latencies are no break
        assertThat(rule.decide(arm(2000, 0.35), arm(2000, 0.35, 0, MEDIAN_MICROS), 1).rule())
                .isEqualTo(Rule.NOT_SIGNIFICANT);
    }

    @Test
    void significantPrimaryWaitsForGuardrailsToBeShownNonInferior() {
        // treatment errors 1 % vs 0 %: [+0.002, +0.018] is neither above the 0.01 margin nor below it
        Verdict v = rule.decide(arm(2000, 0.35), arm(2000, 0.45, 20, MEDIAN_MICROS), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.CONTINUE);
        assertThat(v.rule()).isEqualTo(Rule.GUARDRAILS_UNPROVEN);
        assertThat(v.pValue()).isLessThanOrEqualTo(0.05);
        assertThat(v.reason()).contains("not yet shown non-inferior", "error rate difference");
    }

    @Test
    void horizonWithoutDecisionKeepsProduction() {
        DecisionRule small = new DecisionRule(DecisionRule.Config.defaults().withSamplesPerArm(200, 1000));
        Verdict v = small.decide(arm(1000, 0.35), arm(1000, 0.35), 1);
        assertThat(v.action()).isEqualTo(RolloutAction.ROLLBACK);
        assertThat(v.rule()).isEqualTo(Rule.HORIZON);
        assertThat(v.reason()).startsWith("horizon reached without significant difference: keep production");
        // one arm short of the horizon: go on
        assertThat(small.decide(arm(1000, 0.35), arm(900, 0.35), 1).action()).isEqualTo(RolloutAction.CONTINUE);
    }

    @Test
    void previousPValueCarriesASignificanceForward() {
        // 0.355 vs 0.35 alone is far from significant; a p-value of 0.01 from an earlier look stands
        Verdict v = rule.decide(arm(5000, 0.35), arm(5000, 0.355), 0.01);
        assertThat(v.pValue()).isEqualTo(0.01);
        assertThat(v.action()).isEqualTo(RolloutAction.PROMOTE);
    }

    @Test
    void verdictBecomesARolloutDecision() {
        Verdict v = rule.decide(arm(2000, 0.35), arm(2000, 0.45), 1);
        RolloutDecision d = v.toDecision("exp-1", "controller", T0);
        assertThat(d.getExperimentId()).isEqualTo("exp-1");
        assertThat(d.getAction()).isEqualTo(RolloutAction.PROMOTE);
        assertThat(d.getActor()).isEqualTo("controller");
        assertThat(d.getReason()).isEqualTo(v.reason());
        assertThat(d.getPrimaryMetric()).isEqualTo("hit@1");
        assertThat(d.getStatistic()).isEqualTo(v.statistic());
        assertThat(d.getBoundary()).isEqualTo(20.0);
        assertThat(d.getPValue()).isEqualTo(v.pValue());
        assertThat(d.getEffect()).isEqualTo(v.effect());
        assertThat(d.getEffectLow()).isEqualTo(v.effectLow());
        assertThat(d.getEffectHigh()).isEqualTo(v.effectHigh());
        assertThat(d.getSamplesControl()).isEqualTo(2000);
        assertThat(d.getSamplesTreatment()).isEqualTo(2000);
        assertThat(d.getDecidedAt()).isEqualTo(T0);
        // overwhelming evidence overflows Λ; the decision log keeps a finite number
        Verdict overflow = rule.decide(arm(20_000, 0.10), arm(20_000, 0.90), 1);
        assertThat(overflow.statistic()).isInfinite();
        assertThat(overflow.toDecision("exp-1", "controller", T0).getStatistic()).isEqualTo(Double.MAX_VALUE);
    }

    @Test
    void armTotalsSumArmMetricsWindows() {
        ArmTotals sum = ArmTotals.ZERO.plus(ArmTotals.of(window(100, 2, 80, 30, 50, 40.0, 1, 1)))
                .plus(ArmTotals.of(window(50, 0, 40, 10, 20, 15.0, 2, 3)));
        assertThat(sum.served()).isEqualTo(150);
        assertThat(sum.errors()).isEqualTo(2);
        assertThat(sum.outcomes()).isEqualTo(120);
        assertThat(sum.hitAt1().mean()).isCloseTo(40.0 / 120, within(1e-12));
        assertThat(sum.hitAt5().mean()).isCloseTo(70.0 / 120, within(1e-12));
        assertThat(sum.ndcg().mean()).isCloseTo(55.0 / 120, within(1e-12));
        assertThat(sum.ndcg().variance()).isCloseTo(55.0 / 120 * (1 - 55.0 / 120), within(1e-12));
        assertThat(sum.latency().count()).isEqualTo(150);
        assertThat(sum.late()).isEqualTo(3);
        assertThat(sum.missing()).isEqualTo(4);
        assertThat(ArmTotals.ZERO.latency().count()).as("ZERO is never modified").isZero();
        assertThatThrownBy(() -> ArmTotals.of(window(10, 0, 5, 6, 6, 1.0, 0, 0)))
                .hasMessageContaining("exp-1/treatment").hasMessageContaining("more hits");
        assertThatThrownBy(() -> sum.primary("hr@10")).hasMessageContaining("unknown primary metric 'hr@10'");
    }

    @Test
    void configNamesTheKeyAndRange() {
        assertThatThrownBy(() -> DecisionRule.Config.defaults().withAlpha(0)).hasMessage("alpha must be in (0, 0.5], got 0.0");
        assertThatThrownBy(() -> DecisionRule.Config.defaults().withPrimaryMetric("ctr")).hasMessageContaining("primaryMetric");
        assertThatThrownBy(() -> DecisionRule.Config.defaults().withSamplesPerArm(500, 400))
                .hasMessageContaining("maxSamplesPerArm");
    }

    /** One window of the treatment arm whose served responses all took 20 ms. */
    private static ArmMetrics window(long served, long errors, long outcomes, long hitsAt1, long hitsAt5, double ndcg,
                                     long late, long missing) {
        LatencyHistogram h = new LatencyHistogram();
        for (long i = 0; i < served; i++) {
            h.record(MEDIAN_MICROS);
        }
        return ArmMetrics.newBuilder().setExperimentId("exp-1").setArm("treatment").setAdapterVersion("v2")
                .setWindowStart(T0).setWindowEnd(T0.plusSeconds(60)).setServed(served).setErrors(errors)
                .setOutcomes(outcomes).setHitsAt1(hitsAt1).setHitsAt5(hitsAt5).setNdcgSum(ndcg)
                .setLatencyMicrosSum(served * MEDIAN_MICROS)
                .setLatencyBoundsMicros(h.boundsList()).setLatencyCounts(h.countsList())
                .setLateOutcomes(late).setMissingOutcomes(missing)
                .setUpdatedAt(T0.plusSeconds(61)).build();
    }
}
