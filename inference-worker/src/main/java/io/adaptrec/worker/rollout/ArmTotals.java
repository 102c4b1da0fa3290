package io.adaptrec.worker.rollout;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.worker.rollout.SequentialTest.Sample;

/**
 * One arm's cumulative totals since the experiment started: the sum of its {@code ArmMetrics}
 * windows. Sums (not means), so windows, partitions and workers add up with {@link #plus}.
 *
 * <p>The histogram is never modified through this record: {@link #plus} builds a new one. (Records
 * cannot copy a mutable component on the way out; callers that hand one in keep it unchanged while
 * the totals are in use.)
 *
 * @param served   responses served
 * @param errors   responses with status ERROR or INVALID_REQUEST (a share of {@code served})
 * @param outcomes responses joined with the user's next interaction: the primary metric's n
 * @param latency  served responses' latencies on fixed buckets
 * @param late     interactions that arrived after their response's outcome window closed
 * @param missing  responses whose outcome window closed without a next interaction
 */
public record ArmTotals(long served, long errors, long outcomes, long hitsAt1, long hitsAt5, double ndcgSum,
                        LatencyHistogram latency, long late, long missing) {

    public static final String HIT_AT_1 = "hit@1";
    public static final String HIT_AT_5 = "hit@5";
    public static final String NDCG = "ndcg";

    /** Nothing observed yet. */
    public static final ArmTotals ZERO = new ArmTotals(0, 0, 0, 0, 0, 0, new LatencyHistogram(), 0, 0);

    public ArmTotals {
        if (served < 0 || errors < 0 || outcomes < 0 || hitsAt1 < 0 || hitsAt5 < 0 || ndcgSum < 0 || late < 0
                || missing < 0) {
            throw new IllegalArgumentException("arm totals cannot be negative");
        }
        if (hitsAt1 > outcomes || hitsAt5 > outcomes || ndcgSum > outcomes * (1 + 1e-9)) {
            throw new IllegalArgumentException("arm totals have more hits (" + hitsAt1 + " at 1, " + hitsAt5
                    + " at 5, ndcg sum " + ndcgSum + ") than outcomes (" + outcomes + ")");
        }
        if (errors > served) {
            throw new IllegalArgumentException("arm totals have more errors (" + errors + ") than served (" + served + ")");
        }
        if (latency == null) {
            throw new IllegalArgumentException("arm totals need a latency histogram (an empty one if none)");
        }
    }

    /**
     * The totals of one window.
     *
     * @throws IllegalArgumentException naming the experiment, arm and window when the record is
     *                                  inconsistent (negative counts, more hits than outcomes, a
     *                                  histogram whose counts do not match its bounds)
     */
    public static ArmTotals of(ArmMetrics m) {
        try {
            return new ArmTotals(m.getServed(), m.getErrors(), m.getOutcomes(), m.getHitsAt1(), m.getHitsAt5(),
                    m.getNdcgSum(), LatencyHistogram.of(m.getLatencyBoundsMicros(), m.getLatencyCounts()),
                    m.getLateOutcomes(), m.getMissingOutcomes());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("arm metrics " + m.getExperimentId() + "/" + m.getArm() + " window "
                    + m.getWindowStart() + ".." + m.getWindowEnd() + ": " + e.getMessage(), e);
        }
    }

    /** The sum of both; a new histogram (an empty side takes the other's bounds). */
    public ArmTotals plus(ArmTotals o) {
        return new ArmTotals(served + o.served, errors + o.errors, outcomes + o.outcomes, hitsAt1 + o.hitsAt1,
                hitsAt5 + o.hitsAt5, ndcgSum + o.ndcgSum, sum(latency, o.latency), late + o.late, missing + o.missing);
    }

    private static LatencyHistogram sum(LatencyHistogram a, LatencyHistogram b) {
        // An empty side (ZERO, or a window from a producer without histograms) may have other bounds.
        if (b.count() == 0) {
            return copy(a);
        }
        if (a.count() == 0) {
            return copy(b);
        }
        return copy(a).add(b);
    }

    private static LatencyHistogram copy(LatencyHistogram h) {
        return LatencyHistogram.of(h.boundsList(), h.countsList());
    }

    /** The primary metric by name: {@value #HIT_AT_1}, {@value #HIT_AT_5} or {@value #NDCG}. */
    public Sample primary(String metric) {
        return switch (metric) {
            case HIT_AT_1 -> hitAt1();
            case HIT_AT_5 -> hitAt5();
            case NDCG -> ndcg();
            default -> throw new IllegalArgumentException("unknown primary metric '" + metric
                    + "' (expected " + HIT_AT_1 + ", " + HIT_AT_5 + " or " + NDCG + ")");
        };
    }

    /** Hit@1 per outcome: Bernoulli. */
    public Sample hitAt1() {
        return Sample.proportion(hitsAt1, outcomes);
    }

    /** Hit@5 per outcome: Bernoulli. */
    public Sample hitAt5() {
        return Sample.proportion(hitsAt5, outcomes);
    }

    /**
     * NDCG per outcome. Only its sum is carried, not its sum of squares, so the variance is bounded,
     * not estimated: for any X in [0, 1], Var X = E[X²] − E[X]² ≤ E[X] − E[X]² = mean·(1 − mean).
     * The bound is conservative (it is reached only when NDCG is always 0 or 1, i.e. at hit@1), so
     * the test on ndcg is valid but needs more outcomes than an estimated variance would.
     */
    public Sample ndcg() {
        return Sample.proportion(ndcgSum, outcomes);
    }

    /** Errors per served response (the error guardrail). */
    public Sample errorRate() {
        return Sample.proportion(errors, served);
    }

    /** Share of responses slower than {@code micros}, over responses with a latency recorded. */
    public Sample slowRate(long micros) {
        return Sample.proportion(latency.countAbove(micros), latency.count());
    }
}
