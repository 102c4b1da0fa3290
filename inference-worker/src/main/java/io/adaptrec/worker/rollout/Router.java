package io.adaptrec.worker.rollout;

import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutState;
import java.nio.charset.StandardCharsets;

/**
 * Which adapter answers a user: the A/B router. A user is assigned by hashing (experiment, user)
 * into one of {@value #BUCKETS} buckets, and the arms own consecutive bucket ranges in proportion
 * to their traffic percent, so one user sees one arm for the whole experiment (on every worker, after
 * every restart) and a different experiment reshuffles users independently of the last one.
 *
 * <p>Immutable: the worker builds a new router whenever {@code rollouts} changes and swaps it in,
 * so the serving path reads it without locks.
 */
public final class Router {
    /** Arm names the controller uses. */
    public static final String CONTROL = "control";
    public static final String TREATMENT = "treatment";
    static final int BUCKETS = 10_000;

    /** Where one request goes: the arm, its adapter, and the experiment ({@code null} outside one). */
    public record Route(String experimentId, String arm, String adapterVersion) {}

    private final String production;
    private final Rollout experiment;   // RUNNING, or null
    private final int[] upper;          // cumulative bucket bounds per arm

    /**
     * @param production adapter every user gets outside an experiment (and while one is paused)
     * @param active     the experiment in progress ({@link Experiments#active()}), or null
     */
    public Router(String production, Rollout active) {
        this.production = production;
        this.experiment = active != null && active.getState() == RolloutState.RUNNING ? active : null;
        if (experiment == null) {
            upper = new int[0];
            return;
        }
        upper = new int[experiment.getArms().size()];
        int sum = 0;
        for (int i = 0; i < upper.length; i++) {
            int pct = experiment.getArms().get(i).getTrafficPercent();
            if (pct < 0 || pct > 100) {
                throw new IllegalArgumentException("experiment " + experiment.getExperimentId() + ": arm "
                        + experiment.getArms().get(i).getArm() + " has traffic " + pct + " %");
            }
            sum += pct;
            upper[i] = sum * (BUCKETS / 100);
        }
        if (sum != 100) {
            throw new IllegalArgumentException("experiment " + experiment.getExperimentId()
                    + ": arm traffic sums to " + sum + " %, not 100");
        }
    }

    public String production() {
        return production;
    }

    /** The running experiment, or null. */
    public Rollout experiment() {
        return experiment;
    }

    public Route route(long userId) {
        if (experiment == null) {
            return new Route(null, CONTROL, production);
        }
        int b = bucket(experiment.getExperimentId(), userId);
        for (int i = 0; i < upper.length; i++) {
            if (b < upper[i]) {
                RolloutArm a = experiment.getArms().get(i);
                return new Route(experiment.getExperimentId(), a.getArm(), a.getAdapterVersion());
            }
        }
        throw new IllegalStateException("bucket " + b + " beyond the arms");   // sums to 100: unreachable
    }

    /** Bucket of (experiment, user) in [0, {@value #BUCKETS}): FNV-1a over the id, then a SplitMix64 finaliser. */
    static int bucket(String experimentId, long userId) {
        long h = 0xcbf29ce484222325L;
        for (byte b : experimentId.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long z = h ^ userId * 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z ^= z >>> 31;
        return (int) Math.floorMod(z, (long) BUCKETS);
    }
}
