package io.adaptrec.worker.rollout;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.adapters.Verification;
import io.adaptrec.worker.adapters.Verifier;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.serving.ServingConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rollout controller ({@code WorkerApp control}): turns published adapters into experiments and
 * experiments into decisions.
 *
 * <ul>
 *   <li>Every manifest on {@code adapters} that no experiment names yet is verified against the
 *       base ({@link Verifier}: checksum, base model, shapes, finite values, probe). A rejected one is
 *       recorded as an ABORTED experiment whose reason says why (and on {@code dead-letter}), so it is
 *       never retried and {@code rollout status} shows it; a verified one starts an experiment:
 *       control = production, treatment = the new adapter at {@code rollout.canary.percent}, or waits
 *       as PENDING while another runs (a newer verified adapter supersedes a waiting one: it is
 *       ABORTED with that reason, so at most one waits).</li>
 *   <li>Every {@code rollout.decide.interval.ms} the running experiment's arm totals (the latest
 *       record of every window on {@code experiment-metrics}, summed) go through the
 *       {@link DecisionRule}; PROMOTE and ROLLBACK end it, CONTINUE is recorded every
 *       {@code rollout.report.interval.ms} with its statistic.</li>
 *   <li>Every decision is written to {@code rollouts} (the experiment's state, compacted) and
 *       {@code rollout-decisions} (the log) in one transaction, by a transactional producer whose id
 *       fences a second controller with the same {@code rollout.controller.id}.</li>
 * </ul>
 *
 * <p>A person overrides through {@link RolloutOps} ({@code ./adaptrec rollout ...}); the controller
 * reads those records like its own and only ever acts on a RUNNING experiment.
 */
public final class Controller implements AutoCloseable {
    /**
     * The words an ABORTED experiment's reason carries when its adapter failed verification (as
     * opposed to one superseded while it waited, which was verified and simply never started).
     */
    public static final String REJECTED = "rejected before any traffic";

    private static final Logger log = LoggerFactory.getLogger(Controller.class);
    public static final String ACTOR = "controller";

    private final ServingConfig cfg;
    private final RolloutConfig rc;
    private final LanguageModel lm;
    private final Experiments experiments;
    private final ControlFeed feed;
    private final Topics topics;
    private final DecisionRule rule;
    private final KafkaProducer<byte[], byte[]> producer;
    /** experimentId/arm -> windowStart -> the latest aggregate of that window. */
    private final Map<String, Map<Long, ArmMetrics>> windows = new HashMap<>();
    private final Map<String, Long> lastReport = new HashMap<>();
    private final List<RolloutDecision> decisions = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private volatile Throwable failure;

    private Controller(ServingConfig cfg) throws IOException {
        this.cfg = cfg;
        this.rc = cfg.rollout();
        this.lm = RecLMSystem.loadModel(cfg.modelDir());
        this.experiments = new Experiments(lm.adapterVersion());
        this.topics = ServingConfig.topics(cfg);
        this.rule = new DecisionRule(rc.decisionRule());
        this.feed = new ControlFeed(topics, cfg.clientProperties(), experiments, true, new ControlFeed.Listener() {
            @Override
            public void metrics(ArmMetrics m) {
                synchronized (windows) {
                    windows.computeIfAbsent(Topics.armKey(m.getExperimentId(), m.getArm()), k -> new HashMap<>())
                            .put(m.getWindowStart().toEpochMilli(), m);
                }
            }
        });
        Properties p = cfg.clientProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, rc.controllerId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.thread = new Thread(this::run, "rollout-controller");
    }

    /** Loads the base (for verification), fences older controllers, catches up, then decides periodically. */
    public static Controller start(ServingConfig cfg) throws IOException, InterruptedException {
        Controller c = new Controller(cfg);
        try {
            c.producer.initTransactions();
            c.feed.start();
            if (!c.feed.awaitCaughtUp(Duration.ofMillis(cfg.readyTimeoutMs()))) {
                throw new IllegalStateException("controller did not catch up on the control topics within "
                        + cfg.readyTimeoutMs() + " ms");
            }
            log.info("rollout controller {}: production {}, canary {} %, {} on {} at alpha {}", c.rc.controllerId(),
                    c.production(), c.rc.canaryPercent(), "mSPRT", c.rc.metric(), c.rc.alpha());
            c.thread.start();
            return c;
        } catch (RuntimeException | InterruptedException e) {
            c.close();
            throw e;
        }
    }

    private void run() {
        try {
            while (running.get()) {
                step(Instant.now());
                Thread.sleep(rc.decideIntervalMs());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            failure = e;
            log.error("rollout controller stopped", e);
        }
    }

    /** One pass: new adapters into experiments, the next pending one started, the running one decided. */
    void step(Instant now) {
        List<AdapterManifest> fresh = new ArrayList<>();
        Rollout active;
        synchronized (experiments) {
            for (AdapterManifest m : experiments.manifests().values()) {
                if (!experiments.inAnyExperiment(m.getVersion()) && !m.getVersion().equals(experiments.production())) {
                    fresh.add(m);
                }
            }
        }
        for (AdapterManifest m : fresh) {
            consider(m, now);
        }
        synchronized (experiments) {
            active = experiments.active().orElse(null);
            if (active == null && !experiments.pending().isEmpty()) {
                Rollout next = experiments.pending().get(0);
                String treatment = Experiments.arm(next, Router.TREATMENT);
                active = experiment(next.getExperimentId(), experiments.production(), treatment, RolloutState.RUNNING,
                        now, null);
                String why = "started: the previous experiment ended; control = production " + experiments.production();
                write(active, decision(active, RolloutAction.START, ACTOR, why, null, now));
            }
        }
        if (active != null && active.getState() == RolloutState.RUNNING) {
            decide(active, now);
        }
    }

    /** Verifies a new adapter and starts (or queues) its experiment, or records the rejection. */
    private void consider(AdapterManifest m, Instant now) {
        String id = "exp-" + m.getVersion();
        Verification v;
        try {
            v = Verifier.verify(lm, m, Manifests.weights(m, rc.adaptersDir()));
        } catch (IOException | RuntimeException e) {
            v = Verification.rejected(m.getVersion(), Verification.Reason.DECODE, "weights unreadable: " + e.getMessage());
        }
        synchronized (experiments) {
            String production = experiments.production();
            if (!v.verified()) {
                String why = "adapter " + m.getVersion() + " " + REJECTED + " (" + v.reason() + "): " + v.message();
                log.warn(why);
                Rollout r = experiment(id, production, m.getVersion(), RolloutState.ABORTED, now, why);
                deadLetter(m, why, now);
                write(r, decision(r, RolloutAction.ABORT, ACTOR, why, null, now));
                return;
            }
            boolean busy = experiments.active().isPresent();
            // at most one waits: a newer verified adapter supersedes the one queued before it
            for (Rollout waiting : experiments.pending()) {
                String why = "superseded by " + m.getVersion() + " before it started";
                Rollout r = Rollout.newBuilder(waiting).setState(RolloutState.ABORTED).setReason(why).setUpdatedAt(now)
                        .setArms(finalArms(waiting, false)).build();
                write(r, decision(r, RolloutAction.ABORT, ACTOR, why, null, now));
            }
            Rollout r = experiment(id, production, m.getVersion(), busy ? RolloutState.PENDING : RolloutState.RUNNING, now,
                    null);
            String why = busy ? "verified; waits for " + experiments.active().get().getExperimentId() + " to end"
                    : String.format("verified (probe differs from the base by %.4g); control %s, treatment %s at %d %%",
                            v.probeDifference(), production, m.getVersion(), rc.canaryPercent());
            log.info("experiment {}: {}", id, why);
            write(r, decision(r, RolloutAction.START, ACTOR, why, null, now));
        }
    }

    private void decide(Rollout active, Instant now) {
        String id = active.getExperimentId();
        ArmTotals control = totals(id, Router.CONTROL);
        ArmTotals treatment = totals(id, Router.TREATMENT);
        double previousP = active.getDecision() == null ? 1.0 : active.getDecision().getPValue();
        DecisionRule.Verdict v = rule.decide(control, treatment, previousP);
        RolloutDecision d = v.toDecision(id, ACTOR, now);
        RolloutState next = switch (d.getAction()) {
            case PROMOTE -> RolloutState.PROMOTED;
            case ROLLBACK -> RolloutState.ROLLED_BACK;
            default -> RolloutState.RUNNING;
        };
        synchronized (experiments) {
            Rollout current = experiments.rollout(id).orElse(active);
            if (current.getState() != RolloutState.RUNNING) {
                return;   // a person paused or ended it meanwhile
            }
            if (next == RolloutState.RUNNING) {
                long last = lastReport.getOrDefault(id, 0L);
                if (now.toEpochMilli() - last < rc.reportIntervalMs()) {
                    return;
                }
                lastReport.put(id, now.toEpochMilli());
            } else {
                log.info("experiment {}: {} ({})", id, d.getAction(), d.getReason());
            }
            Rollout r = Rollout.newBuilder(current).setState(next).setReason(d.getReason()).setUpdatedAt(now)
                    .setDecision(d).build();
            if (next != RolloutState.RUNNING) {
                r.setArms(finalArms(current, next == RolloutState.PROMOTED));
            }
            write(r, d);
        }
    }

    /** Sum over windows of the latest aggregate of each. */
    ArmTotals totals(String experimentId, String arm) {
        ArmTotals t = ArmTotals.ZERO;
        synchronized (windows) {
            for (ArmMetrics m : windows.getOrDefault(Topics.armKey(experimentId, arm), Map.of()).values()) {
                t = t.plus(ArmTotals.of(m));
            }
        }
        return t;
    }

    static List<RolloutArm> finalArms(Rollout r, boolean promoted) {
        List<RolloutArm> out = new ArrayList<>();
        for (RolloutArm a : r.getArms()) {
            boolean winner = a.getArm().equals(promoted ? Router.TREATMENT : Router.CONTROL);
            out.add(new RolloutArm(a.getArm(), a.getAdapterVersion(), winner ? 100 : 0));
        }
        return out;
    }

    Rollout experiment(String id, String control, String treatment, RolloutState state, Instant now, String reason) {
        int share = state == RolloutState.ABORTED ? 0 : rc.canaryPercent();
        return new Rollout(id, List.of(new RolloutArm(Router.CONTROL, control, 100 - share),
                new RolloutArm(Router.TREATMENT, treatment, share)), state, reason, now, null);
    }

    static RolloutDecision decision(Rollout r, RolloutAction action, String actor, String reason, RolloutDecision stats,
                                    Instant now) {
        RolloutDecision.Builder b = stats == null ? RolloutDecision.newBuilder() : RolloutDecision.newBuilder(stats);
        return b.setExperimentId(r.getExperimentId()).setAction(action).setActor(actor).setReason(reason)
                .setDecidedAt(now).build();
    }

    /** Writes the experiment's new state and the decision, in one transaction, and applies it locally. */
    private void write(Rollout r, RolloutDecision d) {
        r.setDecision(d);
        if (r.getReason() == null) {
            r.setReason(d.getReason());
        }
        String id = r.getExperimentId();
        producer.beginTransaction();
        try {
            producer.send(new ProducerRecord<>(topics.rollouts().name(), key(topics.rollouts().name(), id),
                    topics.rollouts().valueSerde().serializer().serialize(topics.rollouts().name(), r)));
            producer.send(new ProducerRecord<>(topics.rolloutDecisions().name(),
                    topics.rolloutDecisions().keySerde().serializer().serialize(topics.rolloutDecisions().name(), id),
                    topics.rolloutDecisions().valueSerde().serializer().serialize(topics.rolloutDecisions().name(), d)));
            producer.commitTransaction();
        } catch (RuntimeException e) {
            producer.abortTransaction();
            throw e;
        }
        experiments.apply(id, r);
        decisions.add(d);
    }

    private byte[] key(String topic, String id) {
        return topics.rollouts().keySerde().serializer().serialize(topic, id);
    }

    private void deadLetter(AdapterManifest m, String why, Instant now) {
        String t = topics.deadLetter().name();
        DeadLetter dl = DeadLetter.newBuilder().setTopic(topics.adapters().name()).setPartition(0).setOffset(-1)
                .setError(why).setSource("rollout-controller").setFailedAt(now)
                .setRawBytes(ByteBuffer.wrap(topics.adapters().valueSerde().serializer()
                        .serialize(topics.adapters().name(), m))).build();
        producer.beginTransaction();
        try {
            producer.send(new ProducerRecord<>(t, topics.deadLetter().keySerde().serializer().serialize(t,
                    topics.adapters().name()), topics.deadLetter().valueSerde().serializer().serialize(t, dl)));
            producer.commitTransaction();
        } catch (RuntimeException e) {
            producer.abortTransaction();
            throw e;
        }
    }

    public String production() {
        synchronized (experiments) {
            return experiments.production();
        }
    }

    /** Decisions this controller made since start, oldest first. */
    public List<RolloutDecision> decisions() {
        return List.copyOf(decisions);
    }

    public Throwable failure() {
        return failure != null ? failure : feed.failure();
    }

    @Override
    public void close() {
        running.set(false);
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        feed.close();
        producer.close(Duration.ofSeconds(2));
        lm.close();
    }
}
