package io.adaptrec.worker.serving;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Rollout;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.adapters.AdapterRegistry;
import io.adaptrec.worker.adapters.Verification;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.rollout.ControlFeed;
import io.adaptrec.worker.rollout.Experiments;
import io.adaptrec.worker.rollout.Router;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's side of rollouts: follows {@code adapters} and {@code rollouts}, keeps loaded
 * exactly the adapters the control state needs (production and every arm of the experiment in
 * progress, each verified before any request can reach it), and publishes the {@link Router}
 * requests are routed with.
 *
 * <p>The router only ever names adapters that are loaded: while an arm's adapter is not (still
 * loading, or rejected here), its users get production and their responses say so (no experiment
 * id, arm control), so experiment metrics never count one adapter's answers as another's. A
 * rejection is logged, counted and recorded on {@code dead-letter}; serving goes on.
 *
 * <p>Swaps are atomic for requests: a new router is one volatile write, and an adapter is removed
 * only after no router names it and the requests holding it finished ({@link LanguageModel#removeAdapter}).
 */
final class AdapterFollower implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdapterFollower.class);
    static final long UNLOAD_GRACE_MS = 10_000;

    private final Topics topics;
    private final AdapterRegistry registry;
    private final LanguageModel lm;
    private final WorkerMetrics metrics;
    private final Experiments experiments;
    private final ControlFeed feed;
    private final KafkaProducer<String, DeadLetter> deadLetters;
    private final String instanceId;
    private final Map<String, String> rejected = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Long> unneededSince = new HashMap<>();
    private final Map<String, Long> publishedAt = new HashMap<>();
    /** Where each manifest was read (partition, offset), for the dead-letter record of a rejection. */
    private final Map<String, long[]> coordinates = new HashMap<>();
    private volatile Router router;
    private volatile long lastReadyMillis = -1;

    AdapterFollower(ServingConfig cfg, LanguageModel lm, WorkerMetrics metrics) {
        this.topics = ServingConfig.topics(cfg);
        this.lm = lm;
        this.metrics = metrics;
        this.instanceId = cfg.instanceId();
        this.registry = new AdapterRegistry(lm, cfg.rollout().adaptersDir());
        this.experiments = new Experiments(lm.adapterVersion());
        this.router = new Router(lm.adapterVersion(), null);
        Properties p = cfg.clientProperties();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.deadLetters = new KafkaProducer<>(p, topics.deadLetter().keySerde().serializer(),
                topics.deadLetter().valueSerde().serializer());
        this.feed = new ControlFeed(topics, cfg.clientProperties(), experiments, false, new ControlFeed.Listener() {
            @Override
            public void adapter(AdapterManifest m, ConsumerRecord<byte[], byte[]> raw) {
                publishedAt.put(m.getVersion(), raw.timestamp());
                coordinates.put(m.getVersion(), new long[] {raw.partition(), raw.offset()});
            }

            @Override
            public void batchDone(boolean caughtUp) {
                reconcile();
            }
        });
        metrics.gauge("adaptrec.worker.adapters.loaded", "adapters loaded (production, experiment arms)",
                () -> lm.loadedAdapters().size());
        metrics.gauge("adaptrec.worker.adapter.publish.to.serving.seconds",
                "for the latest adapter this worker started serving: seconds from its manifest's publication to the router naming it",
                () -> lastReadyMillis < 0 ? Double.NaN : lastReadyMillis / 1000.0);
    }

    AdapterFollower start() {
        feed.start();
        return this;
    }

    boolean caughtUp() {
        return feed.caughtUp();
    }

    Throwable failure() {
        return feed.failure();
    }

    Router router() {
        return router;
    }

    /** On the feed's thread, after every batch: load what is needed, publish the router, unload the rest. */
    private void reconcile() {
        List<String> needed = experiments.needed();
        for (String v : needed) {
            if (lm.loadedAdapters().contains(v) || rejected.containsKey(v)) {
                continue;
            }
            AdapterManifest m = experiments.manifest(v).orElse(null);
            if (m == null) {
                continue;   // its manifest has not arrived yet; the router keeps it out meanwhile
            }
            Verification result;
            try {
                result = registry.install(m);
            } catch (IOException | RuntimeException e) {
                result = Verification.rejected(v, Verification.Reason.DECODE, "weights unreadable: " + e.getMessage());
            }
            if (!result.verified()) {
                reject(m, result);
            } else {
                log.info("worker {}: adapter {} verified and loaded ({} bytes; probe differs from the base by {})",
                        instanceId, v, lm.adapterBytes(v), String.format("%.4g", result.probeDifference()));
            }
        }
        Router next = routable();
        Router previous = router;
        router = next;
        announce(previous, next);
        // An adapter no router names any more is unloaded after a grace period: a batch that took the
        // previous router just before the swap may still be about to use it.
        long now = System.currentTimeMillis();
        for (String v : lm.loadedAdapters()) {
            if (needed.contains(v) || v.equals(lm.adapterVersion()) || v.equals(next.production())) {
                unneededSince.remove(v);
            } else if (now - unneededSince.computeIfAbsent(v, k -> now) > UNLOAD_GRACE_MS) {
                registry.remove(v);
                unneededSince.remove(v);
                log.info("worker {}: adapter {} unloaded (no longer production or in an experiment)", instanceId, v);
            }
        }
    }

    /** The control state's router, restricted to adapters loaded here. */
    private Router routable() {
        String production = experiments.production();
        if (!lm.loadedAdapters().contains(production)) {
            production = router.production();   // keep serving with what we have
        }
        Rollout active = experiments.active().orElse(null);
        if (active != null && !active.getArms().stream().allMatch(a -> lm.loadedAdapters().contains(a.getAdapterVersion()))) {
            active = null;
        }
        return new Router(production, active);
    }

    private void announce(Router before, Router after) {
        String was = before.experiment() == null ? null : before.experiment().getExperimentId();
        String now = after.experiment() == null ? null : after.experiment().getExperimentId();
        if (!after.production().equals(before.production())) {
            log.info("worker {}: production adapter {} -> {}", instanceId, before.production(), after.production());
            ready(after.production());
        }
        if (now != null && !now.equals(was)) {
            String treatment = Experiments.arm(after.experiment(), Router.TREATMENT);
            log.info("worker {}: experiment {} routing: {}", instanceId, now, after.experiment().getArms());
            ready(treatment);
        } else if (now == null && was != null) {
            log.info("worker {}: experiment {} no longer routed; everyone gets {}", instanceId, was, after.production());
        }
    }

    private void ready(String version) {
        Long at = publishedAt.get(version);
        if (at != null && caughtUp()) {
            lastReadyMillis = System.currentTimeMillis() - at;
            log.info("worker {}: adapter {} serving {} ms after its manifest was published", instanceId, version,
                    lastReadyMillis);
        }
    }

    private void reject(AdapterManifest m, Verification v) {
        rejected.put(m.getVersion(), v.message());
        metrics.adapterRejected(v.reason().name());
        String why = "adapter " + m.getVersion() + " rejected by worker " + instanceId + " (" + v.reason() + "): "
                + v.message() + "; serving goes on with " + router.production();
        log.warn(why);
        long[] at = coordinates.getOrDefault(m.getVersion(), new long[] {0, -1});
        DeadLetter dl = DeadLetter.newBuilder().setTopic(topics.adapters().name())
                .setPartition((int) at[0]).setOffset(at[1])
                .setError(why).setSource("inference-worker/" + instanceId).setFailedAt(Instant.now())
                .setRawBytes(ByteBuffer.wrap(topics.adapters().valueSerde().serializer()
                        .serialize(topics.adapters().name(), m))).build();
        deadLetters.send(new ProducerRecord<>(topics.deadLetter().name(), topics.adapters().name(), dl), (md, e) -> {
            if (e != null) {
                log.error("worker {}: could not record the rejection of {} on {}: {}", instanceId, m.getVersion(),
                        topics.deadLetter().name(), e.toString());
            }
        });
    }

    /** For the latest adapter this worker started serving: ms from its manifest's publication to the router naming it (-1: none yet). */
    long publishToServingMillis() {
        return lastReadyMillis;
    }

    /** Rejections on this worker by version, with their reasons. */
    Map<String, String> rejected() {
        return Map.copyOf(rejected);
    }

    @Override
    public void close() {
        feed.close();
        deadLetters.close(Duration.ofSeconds(2));
    }
}
