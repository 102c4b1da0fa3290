package io.adaptrec.worker.rollout;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the control topics say, folded: every adapter manifest seen on {@code adapters} and the
 * latest state of every experiment on {@code rollouts}. From it follow the production adapter (the
 * treatment of the last promoted experiment, or the model directory's adapter before any was
 * promoted) and the experiment in progress (at most one is RUNNING or PAUSED at a time; the
 * controller queues others as PENDING).
 *
 * <p>Not thread-safe: one consumer thread applies records, readers take {@link #router()} snapshots.
 */
public final class Experiments {
    private final String initialProduction;
    private final Map<String, AdapterManifest> manifests = new LinkedHashMap<>();
    private final Map<String, Rollout> rollouts = new LinkedHashMap<>();

    /** @param initialProduction the adapter served before any experiment ended (the model directory's) */
    public Experiments(String initialProduction) {
        this.initialProduction = initialProduction;
    }

    public void apply(AdapterManifest m) {
        manifests.put(m.getVersion(), m);
    }

    /** A rollout record; {@code null} value (tombstone) for {@code experimentId} forgets it. */
    public void apply(String experimentId, Rollout r) {
        if (r == null) {
            rollouts.remove(experimentId);
        } else {
            rollouts.put(experimentId, r);
        }
    }

    public Optional<AdapterManifest> manifest(String version) {
        return Optional.ofNullable(manifests.get(version));
    }

    public Map<String, AdapterManifest> manifests() {
        return manifests;
    }

    public Optional<Rollout> rollout(String experimentId) {
        return Optional.ofNullable(rollouts.get(experimentId));
    }

    public List<Rollout> rollouts() {
        List<Rollout> out = new ArrayList<>(rollouts.values());
        out.sort(Comparator.comparing(Rollout::getUpdatedAt));
        return out;
    }

    /** The experiment RUNNING or PAUSED, the most recently updated if (wrongly) several are. */
    public Optional<Rollout> active() {
        return rollouts.values().stream()
                .filter(r -> r.getState() == RolloutState.RUNNING || r.getState() == RolloutState.PAUSED)
                .max(Comparator.comparing(Rollout::getUpdatedAt));
    }

    /** Experiments defined but waiting for the active one to end, oldest first. */
    public List<Rollout> pending() {
        return rollouts().stream().filter(r -> r.getState() == RolloutState.PENDING).toList();
    }

    /** Whether {@code version} took part in any experiment (running, waiting or ended). */
    public boolean inAnyExperiment(String version) {
        return rollouts.values().stream().anyMatch(r -> r.getArms().stream()
                .anyMatch(a -> a.getAdapterVersion().equals(version)));
    }

    /**
     * The adapter every user gets outside an experiment: the treatment of the most recently promoted
     * experiment, else the initial one. Roll-backs and aborts leave production as it was (an
     * experiment's control is production when it starts, and only one runs at a time), so aborting
     * a long-queued experiment can never bring back an old adapter.
     */
    public String production() {
        return rollouts.values().stream()
                .filter(r -> r.getState() == RolloutState.PROMOTED)
                .max(Comparator.comparing(Rollout::getUpdatedAt))
                .map(r -> arm(r, Router.TREATMENT))
                .orElse(initialProduction);
    }

    /** Adapters a worker must hold loaded: production and every arm of the active experiment. */
    public List<String> needed() {
        List<String> out = new ArrayList<>();
        out.add(production());
        active().ifPresent(r -> r.getArms().forEach(a -> {
            if (!out.contains(a.getAdapterVersion())) {
                out.add(a.getAdapterVersion());
            }
        }));
        return out;
    }

    public Router router() {
        return new Router(production(), active().orElse(null));
    }

    /** The adapter of arm {@code name} ({@link Router#CONTROL} or {@link Router#TREATMENT}). */
    public static String arm(Rollout r, String name) {
        return r.getArms().stream().filter(a -> a.getArm().equals(name)).map(RolloutArm::getAdapterVersion)
                .findFirst().orElseThrow(() -> new IllegalArgumentException("experiment " + r.getExperimentId()
                        + " has no arm '" + name + "'"));
    }
}
