package io.adaptrec.worker.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class RolloutSimulationTest {

    /**
     * The default rule (200..20000 outcomes per arm, 199 looks in an A/A run) on 50/50 traffic, which
     * reaches the horizon in a tenth of the outcomes a 10 % canary needs: seconds, not minutes.
     */
    static final RolloutSimulation.Config BASE = new RolloutSimulation.Config(500, 0, 0.35, 0.5, 100, 0.001, 20_000,
            0.5, 42, DecisionRule.Config.defaults());

    static RolloutSimulation.Result run(RolloutSimulation.Config cfg) {
        return new RolloutSimulation(cfg).run(done -> { });
    }

    @Test
    void aaTestUnderContinuousMonitoringKeepsFalseDecisionsAtAlpha() {
        RolloutSimulation.Result r = run(BASE);
        // 500 experiments: a true rate of α = 0.05 gives a binomial standard error of sqrt(0.05·0.95/500) = 0.0097;
        // two of them above α is what chance allows. Looking after every 100 outcomes with a fixed-horizon
        // z-test gives several times α; even dropping the mixture's sqrt(s²/(s²+τ²)) factor from Λ (a fixed
        // |z| ≥ 2.45 at every look) gives 0.094 on this seed, against 0.018 for the rule.
        assertThat(r.falseDecisionRate()).isLessThanOrEqualTo(0.05 + 2 * Math.sqrt(0.05 * 0.95 / 500));
        assertThat(r.promoted() + r.rolledBack() + r.horizonRollbacks()).isEqualTo(500);
        assertThat(r.undecided()).isEqualTo(r.horizonRollbacks()).isGreaterThan(400);
        assertThat(r.power()).isNaN();
        assertThat(r.fixedHorizon()).isNull();
    }

    @Test
    void realEffectIsPromotedWithPower() {
        RolloutSimulation.Result r = run(BASE.with(300, 0.05, 7));
        assertThat(r.power()).isGreaterThan(0.8);
        assertThat(r.falseDecisionRate()).as("roll-backs of a better treatment").isLessThanOrEqualTo(0.02);
    }

    @Test
    void largeEffectIsDecidedBeforeTheFixedHorizonPlannedForTheSmallestEffectOfInterest() {
        // The fixed-horizon test has to be sized for the smallest effect worth detecting (here τ = 0.05); the
        // sequential test stops early when the effect turns out larger.
        RolloutSimulation.Result r = run(BASE.with(200, 0.10, 3));
        FixedHorizon.Plan planned = FixedHorizon.twoProportion(0.35, 0.05, 0.05, 0.8, 0.5);
        assertThat(r.power()).isGreaterThan(0.95);
        assertThat(r.meanSamplesToDecision()).isLessThan(planned.total());
        assertThat(r.medianSamplesToDecision()).isLessThan(planned.total());
    }

    @Test
    void sameSeedSameResultAndTheJsonCarriesTheFigures() throws Exception {
        RolloutSimulation.Config cfg = BASE.with(40, 0.05, 11);
        RolloutSimulation.Result a = run(cfg);
        RolloutSimulation.Result b = run(cfg);
        assertThat(b.samplesToDecision()).containsExactly(a.samplesToDecision());
        assertThat(b.promoted()).isEqualTo(a.promoted());

        JsonNode json = new ObjectMapper().readTree(a.toJson());
        for (String key : new String[] {"experiments", "effect", "base_rate", "treatment_share", "alpha", "tau",
                "min_samples_per_arm", "max_samples_per_arm", "promoted", "rolled_back", "horizon_rollbacks", "undecided",
                "false_decision_rate", "power", "mean_samples_to_decision", "median_samples_to_decision",
                "fixed_horizon_samples", "seconds"}) {
            assertThat(json.has(key)).as(key).isTrue();
        }
        assertThat(json.get("experiments").asInt()).isEqualTo(40);
        assertThat(json.get("promoted").asInt()).isEqualTo(a.promoted());
        assertThat(json.get("fixed_horizon_samples").asLong())
                .isEqualTo(FixedHorizon.twoProportion(0.35, 0.05, 0.05, 0.8, 0.5).total());
        assertThat(new ObjectMapper().readTree(run(BASE.with(5, 0, 1)).toJson()).get("power").isNull()).isTrue();
        assertThat(a.table()).contains("false decision rate", "fixed horizon");
    }
}
