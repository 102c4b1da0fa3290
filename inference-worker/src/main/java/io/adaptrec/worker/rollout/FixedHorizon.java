package io.adaptrec.worker.rollout;

/**
 * The sample a classical fixed-horizon test needs, the yardstick for the sequential rule: a
 * two-sided two-proportion z-test at level α and the given power, with the treatment taking
 * {@code share} of the traffic (n<sub>T</sub> = share·n, n<sub>C</sub> = (1 − share)·n):
 * <pre>
 *   n = (z_{1−α/2} + z_{power})² · (p_C(1 − p_C)/(1 − share) + p_T(1 − p_T)/share) / D²
 * </pre>
 * (unpooled variances under the alternative). Looked at once, at n; looking earlier voids its α,
 * which is what the sequential test buys back.
 */
public final class FixedHorizon {

    /** Outcomes needed in all and per arm (each rounded up). */
    public record Plan(long total, long control, long treatment) {}

    private FixedHorizon() {}

    /**
     * @param baseRate the control's rate p_C, in (0, 1)
     * @param effect   D = p_T − p_C, non-zero, with p_T in (0, 1)
     * @param share    the treatment's share of traffic, in (0, 1)
     */
    public static Plan twoProportion(double baseRate, double effect, double alpha, double power, double share) {
        double pT = baseRate + effect;
        if (!(baseRate > 0 && baseRate < 1) || !(pT > 0 && pT < 1) || effect == 0) {
            throw new IllegalArgumentException("need 0 < base rate, base rate + effect < 1 and effect != 0, got base rate "
                    + baseRate + ", effect " + effect);
        }
        if (!(alpha > 0 && alpha < 1) || !(power > 0 && power < 1) || !(share > 0 && share < 1)) {
            throw new IllegalArgumentException("alpha, power and share must be in (0, 1), got " + alpha + ", " + power
                    + ", " + share);
        }
        double z = normalQuantile(1 - alpha / 2) + normalQuantile(power);
        double n = z * z * (baseRate * (1 - baseRate) / (1 - share) + pT * (1 - pT) / share) / (effect * effect);
        long control = (long) Math.ceil((1 - share) * n);
        long treatment = (long) Math.ceil(share * n);
        return new Plan(control + treatment, control, treatment);
    }

    /**
     * Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation (relative error below
     * 1.2e-9, far below what a sample size needs). Written here because no statistics library is on
     * the worker's classpath and one function does not justify adding one.
     */
    public static double normalQuantile(double p) {
        if (!(p > 0 && p < 1)) {
            throw new IllegalArgumentException("normal quantile needs p in (0, 1), got " + p);
        }
        final double pLow = 0.02425;
        if (p < pLow) {
            double q = Math.sqrt(-2 * Math.log(p));
            return tail(q);
        }
        if (p > 1 - pLow) {
            double q = Math.sqrt(-2 * Math.log(1 - p));
            return -tail(q);
        }
        double q = p - 0.5;
        double r = q * q;
        return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
                / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
    }

    private static double tail(double q) {
        return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
                / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
    }

    private static final double[] A = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    private static final double[] B = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
        6.680131188771972e+01, -1.328068155288572e+01};
    private static final double[] C = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    private static final double[] D = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
        3.754408661907416e+00};
}
