package io.adaptrec.worker.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.adaptrec.worker.rollout.SequentialTest.Result;
import io.adaptrec.worker.rollout.SequentialTest.Sample;
import org.junit.jupiter.api.Test;

class SequentialTestTest {

    private final SequentialTest test = new SequentialTest(0.05, 0.05);

    @Test
    void statisticAndConfidenceSequenceMatchTheFormulaByHand() {
        // s² = 0.2/400 + 0.2/400 = 0.001, τ² = 0.0025, Δ̂ = 0.1:
        // Λ = sqrt(0.001/0.0035) · exp(0.0025 · 0.01 / (2 · 0.001 · 0.0035)) = 0.534522 · e^3.571429 = 19.01156
        // half-width = sqrt(2 · 0.001 · 0.0035 / 0.0025 · (ln 20 + ½ ln 3.5)) = sqrt(0.0028 · 3.622113) = 0.100707
        Result r = test.test(new Sample(0.35, 0.2, 400), new Sample(0.45, 0.2, 400), 1);
        assertThat(r.effect()).isCloseTo(0.1, within(1e-12));
        assertThat(r.variance()).isCloseTo(0.001, within(1e-15));
        assertThat(r.statistic()).isCloseTo(19.01156, within(1e-4));
        assertThat(r.boundary()).isEqualTo(20.0);
        assertThat(r.pValue()).isCloseTo(1 / 19.01156, within(1e-6));
        assertThat(r.low()).isCloseTo(0.1 - 0.100707, within(1e-6));
        assertThat(r.high()).isCloseTo(0.1 + 0.100707, within(1e-6));
        // just short of the boundary, and the sequence just includes 0: the same fact twice
        assertThat(r.rejectsNow()).isFalse();
        assertThat(r.low()).isNegative();
    }

    @Test
    void confidenceSequenceExcludesZeroExactlyWhenLambdaCrossesOneOverAlpha() {
        int rejections = 0;
        int cases = 0;
        for (double alpha : new double[] {0.01, 0.05, 0.2}) {
            for (double tau : new double[] {0.01, 0.05, 0.3}) {
                SequentialTest t = new SequentialTest(alpha, tau);
                for (long n = 10; n <= 100_000; n *= 3) {
                    for (double d = -0.2; d <= 0.2; d += 0.0037) {
                        Result r = t.test(Sample.proportion(0.3 * n, n), new Sample(0.3 + d, 0.21, n), 1);
                        boolean excludesZero = r.low() > 0 || r.high() < 0;
                        assertThat(excludesZero).as("alpha %s tau %s n %d d %s: Λ %s", alpha, tau, n, d, r.statistic())
                                .isEqualTo(r.rejectsNow());
                        rejections += r.rejectsNow() ? 1 : 0;
                        cases++;
                    }
                }
            }
        }
        assertThat(rejections).as("the sweep covers both sides of the boundary").isBetween(cases / 10, cases - cases / 10);
    }

    @Test
    void pValueNeverRisesAgain() {
        Result strong = test.test(new Sample(0.35, 0.2, 400), new Sample(0.45, 0.2, 400), 1);
        Result weak = test.test(new Sample(0.35, 0.2, 400), new Sample(0.36, 0.2, 400), strong.pValue());
        assertThat(weak.statistic()).isLessThan(strong.statistic());
        assertThat(weak.pValue()).isEqualTo(strong.pValue());
        assertThat(test.test(new Sample(0.35, 0.2, 400), new Sample(0.35, 0.2, 400), 1).pValue()).isEqualTo(1.0);
    }

    @Test
    void degenerateArmsGetAFlooredVarianceNotNaN() {
        // both arms all misses: mean·(1 − mean) = 0 would make Λ 0/0
        Result allZero = test.test(Sample.proportion(0, 200), Sample.proportion(0, 200), 1);
        assertThat(allZero.statistic()).isFinite().isLessThan(1);
        assertThat(allZero.pValue()).isEqualTo(1.0);
        assertThat(allZero.low()).isNegative();
        assertThat(allZero.high()).isPositive();
        // q = ½ / 201: "half a trial the other way"
        double q = 0.5 / 201;
        assertThat(Sample.proportion(200, 200).variance()).isCloseTo(q * (1 - q), within(1e-15));
        assertThat(Sample.proportion(100, 200).variance()).isEqualTo(0.25);
        // an arm without observations says nothing
        Result empty = test.test(Sample.proportion(0, 0), Sample.proportion(5, 10), 0.5);
        assertThat(empty.statistic()).isZero();
        assertThat(empty.pValue()).isEqualTo(0.5);
    }

    @Test
    void rejectsInvalidSettings() {
        assertThatThrownBy(() -> new SequentialTest(0, 0.05)).hasMessageContaining("alpha");
        assertThatThrownBy(() -> new SequentialTest(0.05, -1)).hasMessageContaining("tau");
    }

    @Test
    void fixedHorizonMatchesTheTwoProportionFormula() {
        assertThat(FixedHorizon.normalQuantile(0.975)).isCloseTo(1.959963985, within(1e-8));
        assertThat(FixedHorizon.normalQuantile(0.8)).isCloseTo(0.841621234, within(1e-8));
        assertThat(FixedHorizon.normalQuantile(0.001)).isCloseTo(-3.090232306, within(1e-8));
        // (1.959964 + 0.841621)² · (0.35·0.65/0.5 + 0.45·0.55/0.5) / 0.1² = 745.64 → 373 + 373
        FixedHorizon.Plan even = FixedHorizon.twoProportion(0.35, 0.10, 0.05, 0.8, 0.5);
        assertThat(even.control()).isEqualTo(373);
        assertThat(even.treatment()).isEqualTo(373);
        // a 10 % canary: 7.8489 · (0.2275/0.9 + 0.24/0.1) / 0.05² = 8328.5
        FixedHorizon.Plan canary = FixedHorizon.twoProportion(0.35, 0.05, 0.05, 0.8, 0.1);
        assertThat(canary.control()).isEqualTo(7496);
        assertThat(canary.treatment()).isEqualTo(833);
        assertThat(canary.total()).isEqualTo(7496 + 833);
    }
}
