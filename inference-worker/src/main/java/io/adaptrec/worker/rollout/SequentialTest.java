package io.adaptrec.worker.rollout;

/**
 * The always-valid mixture sequential probability ratio test (mSPRT) of Johari, Pekelis &amp; Walsh,
 * "Always valid inference: continuous monitoring of A/B tests" (2017), for the difference of two
 * means, with a normal mixture N(0, τ²) over the alternative.
 *
 * <p>With Δ̂ = mean<sub>T</sub> − mean<sub>C</sub> and its variance s² = var<sub>T</sub>/n<sub>T</sub>
 * + var<sub>C</sub>/n<sub>C</sub> (so unequal allocation, e.g. a 10 % canary, needs nothing special),
 * the mixture likelihood ratio against H0: Δ = 0 is (their normal-mixture mSPRT, with V/n written s²)
 * <pre>
 *   Λ = sqrt(s² / (s² + τ²)) · exp(τ² Δ̂² / (2 s² (s² + τ²)))
 * </pre>
 * H0 is rejected the first time Λ ≥ 1/α, at any look, however often one looks (Ville's inequality).
 * The always-valid p-value is p<sub>n</sub> = min(p<sub>n−1</sub>, 1/Λ<sub>n</sub>); inverting the test
 * over Δ gives the confidence sequence
 * <pre>
 *   Δ̂ ± sqrt(2 s² (s² + τ²) / τ² · (log(1/α) + ½ log((s² + τ²) / s²)))
 * </pre>
 * which excludes 0 exactly when Λ ≥ 1/α. Both use the current estimate of s² (the normal
 * approximation the paper also uses for Bernoulli metrics); that is why callers wait for a minimum
 * sample before acting on it.
 *
 * <p>τ is the scale of effects one expects, on the metric's own scale (τ = 0.05: a few points of
 * hit rate). The test is valid for any τ; a τ near the true effect gives the shortest tests.
 */
public final class SequentialTest {

    /**
     * One arm's sample of a metric: its mean, the per-observation variance and the number of
     * observations.
     */
    public record Sample(double mean, double variance, long n) {
        public Sample {
            if (n < 0 || !(variance >= 0) || Double.isNaN(mean)) {
                throw new IllegalArgumentException("invalid sample: mean " + mean + ", variance " + variance + ", n " + n);
            }
        }

        /**
         * A proportion (or a [0, 1] metric bounded by one: see {@link ArmTotals#ndcg()}) of
         * {@code successes} in {@code n} trials, variance mean·(1 − mean).
         *
         * <p>Degenerate variance: when every trial went the same way (0 errors in 500 responses,
         * both arms all misses) mean·(1 − mean) is 0, s² is 0 and Λ is 0/0. The per-observation
         * variance is floored at q(1 − q) with q = ½ / (n + 1), "as if half a trial had gone the
         * other way" (the same half-count that continuity corrections add). It only binds when
         * fewer than about half a success was observed, vanishes as n grows, and keeps the
         * confidence sequence honest: 0 errors in 200 responses does not prove an error rate of 0.
         */
        public static Sample proportion(double successes, long n) {
            if (n == 0) {
                return new Sample(0, 0.25, 0);
            }
            double mean = successes / n;
            double q = 0.5 / (n + 1);
            double variance = Math.max(mean * (1 - mean), q * (1 - q));
            return new Sample(mean, variance, n);
        }
    }

    /**
     * One evaluation of the test.
     *
     * @param effect    Δ̂ = mean_T − mean_C
     * @param variance  s², the variance of Δ̂
     * @param statistic Λ, the mixture likelihood ratio (0 when an arm has no observation)
     * @param boundary  1/α
     * @param pValue    the always-valid p-value, min(previous, 1/Λ, 1)
     * @param low       lower end of the confidence sequence for Δ
     * @param high      upper end of the confidence sequence for Δ
     */
    public record Result(double effect, double variance, double statistic, double boundary, double pValue,
                         double low, double high) {

        /** Λ ≥ 1/α now (the confidence sequence excludes 0 at this look). */
        public boolean rejectsNow() {
            return statistic >= boundary;
        }
    }

    private final double alpha;
    private final double tau2;

    /**
     * @param alpha the type I error over the whole, continuously monitored experiment, in (0, 1)
     * @param tau   standard deviation of the normal mixture over effects, &gt; 0
     */
    public SequentialTest(double alpha, double tau) {
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("alpha must be in (0, 1), got " + alpha);
        }
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw new IllegalArgumentException("tau must be > 0, got " + tau);
        }
        this.alpha = alpha;
        this.tau2 = tau * tau;
    }

    public double alpha() {
        return alpha;
    }

    public double boundary() {
        return 1 / alpha;
    }

    /**
     * Tests treatment against control.
     *
     * @param previousPValue the p-value returned at the previous look (1 at the first), so the
     *                       p-value never rises again
     */
    public Result test(Sample control, Sample treatment, double previousPValue) {
        double previous = Math.min(1, previousPValue);
        double effect = treatment.mean() - control.mean();
        if (control.n() == 0 || treatment.n() == 0) {
            // No observation on an arm: nothing is known about Δ beyond the range of a [0, 1] metric.
            return new Result(effect, Double.POSITIVE_INFINITY, 0, boundary(), previous, -1, 1);
        }
        double s2 = treatment.variance() / treatment.n() + control.variance() / control.n();
        double lambda = statistic(effect, s2, tau2);
        double half = halfWidth(s2, tau2, alpha);
        return new Result(effect, s2, lambda, boundary(), Math.min(previous, 1 / lambda), effect - half, effect + half);
    }

    /** Λ = sqrt(s²/(s²+τ²)) · exp(τ²Δ̂² / (2 s² (s²+τ²))), computed in logs (the exponent grows fast). */
    static double statistic(double effect, double s2, double tau2) {
        double logLambda = 0.5 * Math.log(s2 / (s2 + tau2)) + tau2 * effect * effect / (2 * s2 * (s2 + tau2));
        return Math.exp(logLambda);
    }

    /** Half-width of the confidence sequence: {Δ : Λ(Δ̂ − Δ) &lt; 1/α}. */
    static double halfWidth(double s2, double tau2, double alpha) {
        return Math.sqrt(2 * s2 * (s2 + tau2) / tau2 * (Math.log(1 / alpha) + 0.5 * Math.log((s2 + tau2) / s2)));
    }
}
