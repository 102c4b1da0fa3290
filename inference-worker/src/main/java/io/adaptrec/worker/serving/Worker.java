package io.adaptrec.worker.serving;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.selection.DemoSelector;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One serving worker, composed from its parts in start-up order: load the model (base and the
 * adapter named by {@code adapters/CURRENT}), publish its item embeddings if missing, start the
 * health endpoint, mirror {@code user-state}/{@code user-pools}/{@code interactions}/{@code items}
 * until caught up, then join the {@code rec-requests} group. {@link #close} stops in reverse.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    private final ServingConfig cfg;
    private final LanguageModel lm;
    private final DemoSelector selector;
    private final WorkerMetrics metrics = new WorkerMetrics();
    private final StateMirror mirror;
    private final HealthServer http;
    private final AdapterFollower adapters;
    private final List<ServingLoop> loops = new ArrayList<>();
    private volatile String warming;

    private Worker(ServingConfig cfg) throws IOException {
        this.cfg = cfg;
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(cfg.djlThreads()));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        this.lm = RecLMSystem.loadModel(cfg.modelDir());
        lm.useEngine(cfg.engine());
        try {
            if (!lm.awaitEngine(Duration.ofMillis(cfg.readyTimeoutMs()))) {
                log.warn("worker {}: the {} engine did not build (see the error above); scoring on PyTorch",
                        cfg.instanceId(), cfg.engine());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building the " + cfg.engine() + " engine", e);
        }
        this.selector = new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION),
                new DemoSelector.Config(cfg.poolSize(), DemoSelector.Config.defaults().demoLen(),
                        DemoSelector.Config.defaults().negatives(), cfg.knownItems()),
                cfg.cacheEntries());
        Topics topics = ServingConfig.topics(cfg);
        if (cfg.publishItemEmbeddings()) {
            ItemEmbeddingPublisher.publishIfMissing(lm, AdapterStore.baseModelId(lm), topics, cfg.clientProperties());
        }
        this.mirror = new StateMirror(topics, cfg.clientProperties(), cfg.popularityHalfLifeMs(),
                cfg.rocksDbStore() ? UserStore.rocksDb(cfg.stateDir().resolve(cfg.instanceId())) : UserStore.inMemory());
        this.adapters = new AdapterFollower(cfg, lm, metrics);
        this.http = new HealthServer(cfg.httpHost(), cfg.httpPort(), this::live, this::notReadyReason, metrics::scrape);
        metrics.gauge("adaptrec.worker.requests.lag", "rec-requests not yet read by this worker",
                () -> loops.stream().mapToLong(ServingLoop::lag).sum());
        metrics.gauge("adaptrec.worker.state.lag", "user-state/user-pools/interactions/items records not yet mirrored",
                mirror::lag);
        metrics.gauge("adaptrec.worker.state.users", "users in the local mirror", mirror::users);
        for (StateMirror.Freshness f : StateMirror.Freshness.values()) {
            String n = f.name().toLowerCase(java.util.Locale.ROOT).replace('_', '.');
            metrics.gauge("adaptrec.worker.freshness." + n + ".p99.ms", "interaction sent -> " + n
                    + " applied in this worker's mirror, p99 since it caught up (ms, within one 19 % bucket)",
                    () -> mirror.freshness(f).quantileMicros(0.99) / 1000.0);
        }
        metrics.gauge("adaptrec.worker.state.undecodable", "mirrored records skipped as undecodable", mirror::undecodable);
        metrics.gauge("adaptrec.worker.selection.cache.hit.rate", "stage-2 selection cache hit rate since start",
                () -> selector.cacheStats().hitRate());
        metrics.gauge("adaptrec.worker.ready", "1 when serving", () -> notReadyReason() == null ? 1 : 0);
        metrics.gauge("adaptrec.worker.engine.exported", "1 while the exported engine (serving.engine) scores every loaded adapter, 0 while PyTorch does",
                () -> lm.engineInUse().equals(LanguageModel.ENGINE) ? 0 : 1);
        metrics.gauge("adaptrec.worker.engine.builds", "exported engines built (one per served adapter)", () -> lm.engineBuilds()[0]);
        metrics.gauge("adaptrec.worker.engine.build.failures", "exported engine builds that failed (those adapters stay on PyTorch)",
                () -> lm.engineBuilds()[1]);
        log.info("worker {}: model {} (adapter {}), engine {}, health on http://{}:{}", cfg.instanceId(),
                AdapterStore.baseModelId(lm), lm.adapterVersion(), cfg.engine(), cfg.httpHost(), http.port());
    }

    /** Starts every part and returns once the worker serves (mirror caught up, group joined). */
    public static Worker start(ServingConfig cfg) throws IOException, InterruptedException {
        Worker w = new Worker(cfg);
        try {
            w.mirror.start();
            w.adapters.start();
            if (!w.mirror.awaitReady(Duration.ofMillis(cfg.readyTimeoutMs()))) {
                throw new IllegalStateException("state mirror did not catch up within " + cfg.readyTimeoutMs()
                        + " ms (serving.ready.timeout.ms)");
            }
            AdaptRec core = new AdaptRec(w.lm, w.selector, cfg.historyLength());
            w.prewarm(core);
            if (!Await.until(w.adapters::caughtUp, w.adapters::failure, Duration.ofMillis(cfg.readyTimeoutMs()),
                    "adapter follower")) {
                throw new IllegalStateException("adapters/rollouts not caught up within " + cfg.readyTimeoutMs() + " ms");
            }
            RequestHandler handler = new RequestHandler(core, w.mirror, cfg, w.metrics, w.adapters::router);
            Topics topics = ServingConfig.topics(cfg);
            for (int i = 0; i < cfg.loops(); i++) {
                w.loops.add(new ServingLoop(topics, handler, cfg, w.metrics, cfg.loopMemberId(i)).start());
            }
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (w.notReadyReason() != null && w.loopFailure() == null && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            if (w.notReadyReason() != null) {
                throw new IllegalStateException("worker did not become ready: " + w.notReadyReason(), w.loopFailure());
            }
            log.info("worker {} ready: {} users mirrored", cfg.instanceId(), w.mirror.users());
            return w;
        } catch (InterruptedException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /**
     * Computes the stage-2 selections of the most recently active users before any request
     * arrives (bounded by serving.prewarm.users and serving.prewarm.ms), through the same core
     * and neighbourhood as serving, so requests find them in the cache under the same keys.
     */
    private void prewarm(AdaptRec core) {
        if (cfg.prewarmUsers() == 0 || cfg.strategy() != io.adaptrec.worker.selection.Strategy.ADAPTIVE) {
            return;
        }
        List<Long> users = mirror.recentlyActive(cfg.prewarmUsers());
        LiveNeighbourhood hood = new LiveNeighbourhood(mirror);
        long t0 = System.nanoTime();
        long until = t0 + cfg.prewarmMs() * 1_000_000L;
        int done = 0;
        for (int i = 0; i < users.size() && System.nanoTime() < until; i += 16) {
            List<AdaptRec.Query> batch = new ArrayList<>();
            for (long u : users.subList(i, Math.min(users.size(), i + 16))) {
                StateMirror.History h = mirror.history(u);
                if (h != null && h.items().length > 0) {
                    batch.add(new AdaptRec.Query(u, h.items(), new long[0]));
                }
            }
            core.select(batch, hood, cfg.strategy(), cfg.m());
            done = Math.min(users.size(), i + 16);
            warming = "warming the selection cache (" + done + "/" + users.size() + " users)";
        }
        warming = null;
        log.info("worker {}: selections of {} most recently active users computed in {} ms", cfg.instanceId(), done,
                (System.nanoTime() - t0) / 1_000_000);
    }

    private boolean live() {
        return mirror.failure() == null && loopFailure() == null && adapters.failure() == null;
    }

    private Throwable loopFailure() {
        return loops.stream().map(ServingLoop::failure).filter(java.util.Objects::nonNull).findFirst().orElse(null);
    }

    /** Null when ready; otherwise what it waits for or why it failed. */
    public String notReadyReason() {
        if (mirror.failure() != null) {
            return "state mirror failed: " + mirror.failure();
        }
        if (!mirror.ready()) {
            return "catching up on user-state and user-pools (" + mirror.lag() + " records behind)";
        }
        if (loopFailure() != null) {
            return "serving loop failed: " + loopFailure();
        }
        if (adapters.failure() != null) {
            return "adapter follower failed: " + adapters.failure();
        }
        if (!adapters.caughtUp()) {
            return "catching up on adapters and rollouts";
        }
        if (warming != null) {
            return warming;
        }
        if (loops.isEmpty() || !loops.stream().allMatch(ServingLoop::started)) {
            return "joining the rec-requests consumer group";
        }
        return null;
    }

    public WorkerMetrics metrics() {
        return metrics;
    }

    public StateMirror mirror() {
        return mirror;
    }

    public int httpPort() {
        return http.port();
    }

    public LanguageModel model() {
        return lm;
    }

    /** Stage-2 selections in the cache now (after start: at least the warmed ones). */
    public long selectionsCached() {
        return selector.cached();
    }

    /** Stage-2 selection cache hit rate since start (the warming's misses included). */
    public double selectorCacheHitRate() {
        return selector.cacheStats().hitRate();
    }

    /** Stage-2 cache hits and misses since start; subtract two of them for a window's hit rate. */
    public com.github.benmanes.caffeine.cache.stats.CacheStats selectionCacheStats() {
        return selector.cacheStats();
    }

    /** The router requests are routed with now (production adapter, experiment in progress). */
    public io.adaptrec.worker.rollout.Router router() {
        return adapters.router();
    }

    /** For the latest adapter this worker started serving: ms from its manifest's publication to the router naming it (-1: none yet). */
    public long publishToServingMillis() {
        return adapters.publishToServingMillis();
    }

    /** Adapters this worker refused, by version, with the reasons. */
    public Map<String, String> rejectedAdapters() {
        return adapters.rejected();
    }

    /** Requests answered since start. */
    public long answered() {
        return loops.stream().mapToLong(ServingLoop::answered).sum();
    }

    @Override
    public void close() {
        loops.forEach(ServingLoop::close);
        adapters.close();
        mirror.close();
        http.close();
        lm.close();
    }
}
