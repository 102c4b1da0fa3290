package io.adaptrec.worker.rollout;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.TopicScan;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What a person does with experiments ({@code ./adaptrec rollout status|promote|rollback|pause|resume}):
 * read their state, arm totals and decision log, and override the controller. An override is a
 * decision like any other: written to {@code rollouts} and {@code rollout-decisions} with who and why.
 */
public final class RolloutOps {

    private static final Duration SCAN = Duration.ofSeconds(30);

    private RolloutOps() {}

    /** One experiment as a person sees it. */
    public record Status(Rollout rollout, ArmTotals control, ArmTotals treatment, List<RolloutDecision> log) {}

    /** Every experiment, oldest first, with its arms' totals and its decision log. */
    public static List<Status> status(Properties client, Topics topics) {
        Experiments ex = new Experiments("?");
        TopicScan.toEnd(client, topics.rollouts().name(), SCAN, r -> {
            String id = topics.rollouts().keySerde().deserializer().deserialize(r.topic(), r.key());
            ex.apply(id, r.value() == null ? null
                    : topics.rollouts().valueSerde().deserializer().deserialize(r.topic(), r.value()));
        });
        Map<String, List<RolloutDecision>> log = new HashMap<>();
        TopicScan.toEnd(client, topics.rolloutDecisions().name(), SCAN, r -> {
            RolloutDecision d = topics.rolloutDecisions().valueSerde().deserializer().deserialize(r.topic(), r.value());
            log.computeIfAbsent(d.getExperimentId(), k -> new ArrayList<>()).add(d);
        });
        Map<String, Map<Long, ArmMetrics>> windows = new HashMap<>();
        TopicScan.toEnd(client, topics.experimentMetrics().name(), SCAN, r -> {
            ArmMetrics m = topics.experimentMetrics().valueSerde().deserializer().deserialize(r.topic(), r.value());
            windows.computeIfAbsent(Topics.armKey(m.getExperimentId(), m.getArm()), k -> new LinkedHashMap<>())
                    .put(m.getWindowStart().toEpochMilli(), m);
        });
        List<Status> out = new ArrayList<>();
        for (Rollout r : ex.rollouts()) {
            out.add(new Status(r, sum(windows, r.getExperimentId(), Router.CONTROL),
                    sum(windows, r.getExperimentId(), Router.TREATMENT), log.getOrDefault(r.getExperimentId(), List.of())));
        }
        return out;
    }

    private static ArmTotals sum(Map<String, Map<Long, ArmMetrics>> windows, String id, String arm) {
        ArmTotals t = ArmTotals.ZERO;
        for (ArmMetrics m : windows.getOrDefault(Topics.armKey(id, arm), Map.of()).values()) {
            t = t.plus(ArmTotals.of(m));
        }
        return t;
    }

    /**
     * Applies a person's decision to experiment {@code id}.
     *
     * @throws IllegalArgumentException when the experiment does not exist or the action does not
     *     apply to its state (e.g. resume of a running experiment), naming both
     */
    public static Rollout override(Properties client, Topics topics, String id, RolloutAction action, String who,
                                   String why) {
        Rollout current = status(client, topics).stream().map(Status::rollout)
                .filter(r -> r.getExperimentId().equals(id)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no experiment '" + id + "' on " + topics.rollouts().name()));
        RolloutState from = current.getState();
        RolloutState to = switch (action) {
            case PROMOTE -> require(from, action, RolloutState.PROMOTED, RolloutState.RUNNING, RolloutState.PAUSED);
            case ROLLBACK -> require(from, action, RolloutState.ROLLED_BACK, RolloutState.RUNNING, RolloutState.PAUSED,
                    RolloutState.PENDING);
            case PAUSE -> require(from, action, RolloutState.PAUSED, RolloutState.RUNNING);
            case RESUME -> require(from, action, RolloutState.RUNNING, RolloutState.PAUSED);
            case ABORT -> require(from, action, RolloutState.ABORTED, RolloutState.RUNNING, RolloutState.PAUSED,
                    RolloutState.PENDING);
            default -> throw new IllegalArgumentException(action + " is not an operator action");
        };
        Instant now = Instant.now();
        RolloutDecision stats = current.getDecision();
        String reason = "override by " + who + ": " + why;
        RolloutDecision d = Controller.decision(current, action, who, reason, stats, now);
        Rollout next = Rollout.newBuilder(current).setState(to).setReason(reason).setUpdatedAt(now).setDecision(d).build();
        if (to == RolloutState.PROMOTED || to == RolloutState.ROLLED_BACK) {
            next.setArms(Controller.finalArms(current, to == RolloutState.PROMOTED));
        }
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, Rollout> rollouts = new KafkaProducer<>(p, topics.rollouts().keySerde().serializer(),
                topics.rollouts().valueSerde().serializer());
             KafkaProducer<String, RolloutDecision> decisions = new KafkaProducer<>(p,
                     topics.rolloutDecisions().keySerde().serializer(), topics.rolloutDecisions().valueSerde().serializer())) {
            decisions.send(new ProducerRecord<>(topics.rolloutDecisions().name(), id, d)).get();
            rollouts.send(new ProducerRecord<>(topics.rollouts().name(), id, next)).get();
        } catch (Exception e) {
            throw new IllegalStateException("writing the override of " + id + " failed: " + e.getMessage(), e);
        }
        return next;
    }

    private static RolloutState require(RolloutState from, RolloutAction action, RolloutState to, RolloutState... allowed) {
        for (RolloutState a : allowed) {
            if (a == from) {
                return to;
            }
        }
        throw new IllegalArgumentException("cannot " + action.name().toLowerCase() + " an experiment that is " + from
                + " (allowed from " + java.util.Arrays.toString(allowed) + ")");
    }
}
