package io.adaptrec.worker.training;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.Interaction;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.eval.CandidateSampler;
import io.adaptrec.worker.eval.Metrics;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Demonstration;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.RecLMTrainer;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.rollout.ControlFeed;
import io.adaptrec.worker.rollout.Experiments;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Neighbourhood;
import io.adaptrec.worker.serving.LiveNeighbourhood;
import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.serving.StateMirror;
import io.adaptrec.worker.serving.UserStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer ({@code WorkerApp refresh}): keeps fine-tuning the production LoRA adapter on what
 * users do now, and publishes each new adapter to {@code adapters} for the controller to test.
 *
 * <p>Examples come from the stream: for every live interaction (user u, item x, time t) it takes u's
 * latest {@code serving.history.length} interactions strictly before t (kept here from the
 * interactions topic itself, which is in order per user, while the mirrored user-state may lag it
 * under a burst: about 16 bytes per item and user) and, {@code refresh.capture.delay.ms} after the
 * interaction arrived (so that the pools had time to take in u's earlier interactions), u's pool as
 * the workers see it, with every member's history cut at t (the same {@link LiveNeighbourhood} the
 * workers serve from): no item an example uses comes from after its target (pool membership may
 * reflect up to the delay's worth of later traffic). Every arm's users are in it, so the arms stay
 * comparable. The most recent {@code refresh.window} examples are kept.
 *
 * <p>A round starts when {@code refresh.min-new} examples arrived, or every {@code refresh.interval.ms}
 * when at least {@code refresh.min-examples} did. It (1) installs the production adapter in place
 * (warm start; production follows {@code rollouts}), (2) splits the window by event time: the most
 * recent {@code refresh.holdout.fraction} is held out, (3) measures production on the held-out slice
 * through the recommender core (stage 2 selects with the adapter being measured), (4) selects the
 * training examples' demonstrations with the production adapter and fine-tunes LoRA on them,
 * (5) measures the new adapter on the same held-out queries and candidates, and (6) publishes it
 * unless its HR@1 falls short of production's by more than {@code refresh.max-regression}. The
 * version is content-derived, the parent is the production version, and the offline metrics
 * (both adapters' HR@1 and NDCG@5, slice and training sizes) travel in the manifest.
 */
public final class RefreshLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RefreshLoop.class);
    private static final int CANDIDATES = 20;
    private static final int NDCG_K = 5;

    private record Arrival(Interaction interaction, long[] before, long at) {}

    /** One example captured from the stream. */
    record Captured(long userId, long target, long eventTime, long[] history, Neighbourhood.Pool pool,
                    long[] candidates) {}

    /** What one round did (for logs, tests and the summary). */
    public record Round(int number, int examples, int train, int heldOut, String production, double productionHr1,
                        double productionNdcg5, String candidate, double candidateHr1, double candidateNdcg5,
                        boolean published, String reason, double seconds) {}

    private final ServingConfig cfg;
    private final RefreshConfig rc;
    private final LanguageModel lm;
    private final String initialVersion;
    private final StateMirror mirror;
    private final Experiments experiments;
    private final ControlFeed feed;
    private final Topics topics;
    private final KafkaProducer<String, AdapterManifest> producer;
    private final long[] catalogue;
    private final ArrayDeque<Captured> window = new ArrayDeque<>();
    private final ArrayDeque<Arrival> arrivals = new ArrayDeque<>();
    /** Per user: the latest serving.history.length interactions, {items, times}, oldest first (mirror thread only). */
    private final Map<Long, long[][]> recent = new HashMap<>();
    private volatile long skipped;
    private volatile long aborted;
    private final List<Round> rounds = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private volatile Throwable failure;
    private int fresh;
    private long lastRound = System.currentTimeMillis();

    private RefreshLoop(ServingConfig cfg) throws IOException {
        this.cfg = cfg;
        this.rc = cfg.refresh();
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(cfg.djlThreads()));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        this.lm = RecLMSystem.loadModel(cfg.modelDir());
        this.initialVersion = lm.adapterVersion();
        long[] items = lm.vocabulary().itemIds();
        Arrays.sort(items);
        this.catalogue = items;
        this.topics = ServingConfig.topics(cfg);
        this.experiments = new Experiments(initialVersion);
        this.feed = new ControlFeed(topics, cfg.clientProperties(), experiments, false, new ControlFeed.Listener() { });
        this.mirror = new StateMirror(topics, cfg.clientProperties(), cfg.popularityHalfLifeMs(), UserStore.inMemory())
                .onLiveInteraction(this::arrived);
        Properties p = cfg.clientProperties();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(1_048_576));
        this.producer = new KafkaProducer<>(p, topics.adapters().keySerde().serializer(),
                topics.adapters().valueSerde().serializer());
        this.thread = new Thread(this::run, "refresh-" + rc.instanceId());
    }

    /** Loads the model, catches up on the state and control topics, then trains whenever a round is due. */
    public static RefreshLoop start(ServingConfig cfg) throws IOException, InterruptedException {
        RefreshLoop r = new RefreshLoop(cfg);
        try {
            r.feed.start();
            r.mirror.start();
            Duration wait = Duration.ofMillis(cfg.readyTimeoutMs());
            if (!r.feed.awaitCaughtUp(wait) || !r.mirror.awaitReady(wait)) {
                throw new IllegalStateException("trainer did not catch up within " + cfg.readyTimeoutMs() + " ms");
            }
            log.info("trainer {}: model {} (adapter {}); a round every {} new interactions or {} s; window {}",
                    cfg.refresh().instanceId(), AdapterStore.baseModelId(r.lm), r.initialVersion, cfg.refresh().minNew(),
                    cfg.refresh().intervalMs() / 1000, cfg.refresh().window());
            r.thread.start();
            return r;
        } catch (RuntimeException | InterruptedException e) {
            r.close();
            throw e;
        }
    }

    /**
     * On the mirror's thread, for every interaction in topic order: the user's recent history is kept
     * here (the mirrored user-state can lag the interactions by seconds under a burst, the interactions
     * themselves cannot); a live one is queued with the history strictly before it, and captured once
     * the pools had time to reflect it.
     */
    private void arrived(Interaction i, boolean live) {
        long t = i.getEventTime().toEpochMilli();
        long[][] h = recent.get(i.getUserId());
        long[] before = h == null ? new long[0] : itemsBefore(h, t);
        recent.put(i.getUserId(), appended(h, i.getItemId(), t, cfg.historyLength()));
        if (!live) {
            return;
        }
        synchronized (arrivals) {
            arrivals.addLast(new Arrival(i, before, System.currentTimeMillis()));
            while (arrivals.size() > 4L * rc.window()) {
                arrivals.removeFirst();
                skipped++;
            }
        }
    }

    /** Captures every arrival older than {@code refresh.capture.delay.ms}. */
    private void captureDue() {
        long due = System.currentTimeMillis() - rc.captureDelayMs();
        while (true) {
            Arrival a;
            synchronized (arrivals) {
                if (arrivals.isEmpty() || arrivals.peekFirst().at() > due) {
                    return;
                }
                a = arrivals.removeFirst();
            }
            capture(a.interaction(), a.before());
        }
    }

    /** Items of {@code h} ({items}, {times}, oldest first) strictly before {@code t}. */
    static long[] itemsBefore(long[][] h, long t) {
        int n = 0;
        while (n < h[1].length && h[1][n] < t) {
            n++;
        }
        return Arrays.copyOf(h[0], n);
    }

    /** {@code h} with (item, t) inserted in time order, keeping the latest {@code keep}. */
    static long[][] appended(long[][] h, long item, long t, int keep) {
        long[] items = h == null ? new long[0] : h[0];
        long[] times = h == null ? new long[0] : h[1];
        int at = times.length;
        while (at > 0 && times[at - 1] > t) {
            at--;
        }
        long[] ni = new long[items.length + 1];
        long[] nt = new long[times.length + 1];
        System.arraycopy(items, 0, ni, 0, at);
        System.arraycopy(times, 0, nt, 0, at);
        ni[at] = item;
        nt[at] = t;
        System.arraycopy(items, at, ni, at + 1, items.length - at);
        System.arraycopy(times, at, nt, at + 1, times.length - at);
        int drop = Math.max(0, ni.length - keep);
        return new long[][] {Arrays.copyOfRange(ni, drop, ni.length), Arrays.copyOfRange(nt, drop, nt.length)};
    }

    /** The example of one interaction: the history before it, the pool as of it, its candidates. */
    private void capture(Interaction i, long[] before) {
        long t = i.getEventTime().toEpochMilli();
        if (before.length == 0) {
            skipped++;   // a cold start (or state that never arrived): nothing to prompt with
            return;
        }
        long[] recent = recent(before);
        Neighbourhood.Pool pool = new LiveNeighbourhood(mirror).pool(i.getUserId(), recent, cfg.poolSize(), t);
        long user = i.getUserId();
        long[] cands = CandidateSampler.withTarget(catalogue, user, i.getItemId(), CANDIDATES, rc.seed(),
                item -> mirror.seen(user, item, t) || item == i.getItemId());
        if (cands.length < CANDIDATES || lm.vocabulary().itemToken(i.getItemId()) < lm.vocabulary().itemStart()) {
            skipped++;   // an item the model has no token for cannot be a training target
            return;
        }
        synchronized (window) {
            window.addLast(new Captured(user, i.getItemId(), t, before, pool, cands));
            while (window.size() > rc.window()) {
                window.removeFirst();
            }
            fresh++;
        }
    }

    private void run() {
        try {
            while (running.get()) {
                Thread.sleep(200);
                captureDue();
                List<Captured> snapshot = null;
                synchronized (window) {
                    long now = System.currentTimeMillis();
                    boolean due = fresh >= rc.minNew() || now - lastRound >= rc.intervalMs() && fresh >= rc.minExamples();
                    if (due) {
                        snapshot = new ArrayList<>(window);
                        fresh = 0;
                        lastRound = now;
                    }
                }
                if (snapshot != null) {
                    rounds.add(round(rounds.size() + 1, snapshot));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            if (!running.get()) {
                // close() interrupted a round (e.g. while it published): a shutdown, not a failure
                log.info("trainer stopped during a round: {}", e.toString());
                return;
            }
            failure = e;
            log.error("trainer stopped", e);
        }
    }

    /** One round: warm start, split, measure, fine-tune, measure, publish. */
    Round round(int number, List<Captured> examples) throws IOException {
        long t0 = System.nanoTime();
        // Every round on a model of its own, closed after it: the base loaded afresh, production
        // installed in place. The long-lived model only serves capture (vocabulary, catalogue).
        try (Session session = session()) {
            return round(number, examples, session, t0);
        }
    }

    /** A model for one round: its selector and recommender core. */
    private record Session(LanguageModel lm, DemoSelector selector, AdaptRec core, String production)
            implements AutoCloseable {
        @Override
        public void close() {
            lm.close();
        }
    }

    private Session session() throws IOException {
        LanguageModel model = RecLMSystem.loadModel(cfg.modelDir());
        try {
            String production = installProduction(model);
            DemoSelector sel = new DemoSelector(model, PromptTemplate.resource(PromptTemplate.SELECTION),
                    new DemoSelector.Config(cfg.poolSize(), DemoSelector.Config.defaults().demoLen(),
                            DemoSelector.Config.defaults().negatives(), cfg.knownItems()),
                    cfg.cacheEntries());
            return new Session(model, sel, new AdaptRec(model, sel, cfg.historyLength()), production);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private Round round(int number, List<Captured> examples, Session s, long t0) throws IOException {
        String production = s.production();
        examples.sort(Comparator.comparingLong(Captured::eventTime));
        int heldOut = Math.max(1, (int) Math.round(examples.size() * rc.holdoutFraction()));
        List<Captured> train = examples.subList(0, examples.size() - heldOut);
        List<Captured> test = examples.subList(examples.size() - heldOut, examples.size());
        log.info("refresh round {}: {} examples ({} to train on, {} held out, the most recent); production {}",
                number, examples.size(), train.size(), test.size(), production);
        double[] before = measure(s, test);
        List<RecLMTrainer.StreamExample> prepared = withDemonstrations(s, train);
        TrainConfig tc = TrainConfig.defaults().withSeed((int) rc.seed());
        try {
            new RecLMTrainer(tc, log::info).abortOnNonFinite().fineTune(s.lm(), prepared,
                    PromptTemplate.resource(PromptTemplate.RECOMMENDATION), rc.epochs());
        } catch (RecLMTrainer.NonFiniteException e) {
            // the round's model is discarded (the session closes it); the next round starts afresh
            aborted++;
            String why = "aborted: " + e.getMessage() + "; the round's model is discarded";
            log.warn("refresh round {}: {}", number, why);
            return new Round(number, examples.size(), train.size(), test.size(), production, before[0], before[1], null,
                    Double.NaN, Double.NaN, false, why, (System.nanoTime() - t0) / 1e9);
        }
        double[] after = measure(s, test);
        boolean publish = after[0] >= before[0] - rc.maxRegression();
        String reason = String.format("held-out HR@1 %.4f vs production %.4f on %d queries (%s)", after[0], before[0],
                test.size(), publish ? "published" : "not published: worse by more than refresh.max-regression="
                        + rc.maxRegression());
        String version = null;
        if (publish) {
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("refresh.hr@1", after[0]);
            metrics.put("refresh.ndcg@5", after[1]);
            metrics.put("refresh.production.hr@1", before[0]);
            metrics.put("refresh.production.ndcg@5", before[1]);
            metrics.put("refresh.heldout.size", (double) test.size());
            metrics.put("refresh.train.size", (double) train.size());
            version = publish(s.lm(), production, metrics);
        }
        Round r = new Round(number, examples.size(), train.size(), test.size(), production, before[0], before[1],
                version, after[0], after[1], publish, reason, (System.nanoTime() - t0) / 1e9);
        log.info("refresh round {} done in {} s: production {} HR@1 {} NDCG@5 {} -> new {} HR@1 {} NDCG@5 {}; {}",
                number, String.format("%.1f", r.seconds()), production, fmt(before[0]), fmt(before[1]),
                version == null ? "(not published)" : version, fmt(after[0]), fmt(after[1]), reason);
        return r;
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }

    /** Makes {@code lm}'s in-place adapter the production one; returns its version. */
    private String installProduction(LanguageModel lm) throws IOException {
        String production;
        AdapterManifest m;
        synchronized (experiments) {
            production = experiments.production();
            m = experiments.manifest(production).orElse(null);
        }
        if (production.equals(lm.adapterVersion())) {
            return production;
        }
        if (production.equals(initialVersion)) {
            // back to the model directory's adapter
            RecLMSystem.installCurrent(lm, cfg.modelDir());
            return production;
        }
        if (m == null) {
            throw new IOException("production adapter " + production + " has no manifest on " + topics.adapters().name());
        }
        AdapterStore.install(lm, m, Manifests.weights(m, cfg.rollout().adaptersDir()));
        return production;
    }

    /** HR@1 and NDCG@5 of the in-place adapter on {@code test}, through the recommender core. */
    private double[] measure(Session s, List<Captured> test) {
        Map<String, Neighbourhood.Pool> pools = new HashMap<>();
        List<AdaptRec.Query> queries = new ArrayList<>(test.size());
        for (Captured c : test) {
            pools.put(c.userId() + "@" + c.eventTime(), c.pool());
            queries.add(new AdaptRec.Query(c.userId(), c.history(), c.candidates(), c.eventTime()));
        }
        Neighbourhood captured = (user, history, n, asOf) -> {
            Neighbourhood.Pool p = pools.getOrDefault(user + "@" + asOf, Neighbourhood.Pool.EMPTY);
            return p.members().size() <= n ? p : new Neighbourhood.Pool(p.members().subList(0, n), p.embeddingVersion(),
                    p.version());
        };
        double hr = 0;
        double ndcg = 0;
        for (int b = 0; b < queries.size(); b += 64) {
            List<AdaptRec.Query> batch = queries.subList(b, Math.min(queries.size(), b + 64));
            List<AdaptRec.Recommendation> recs = s.core().recommend(batch, captured, cfg.strategy(), cfg.m());
            for (int i = 0; i < recs.size(); i++) {
                Captured c = test.get(b + i);
                int target = indexOf(c.candidates(), c.target());
                int rank = Metrics.rank(recs.get(i).scores(), target, c.candidates().length);
                hr += Metrics.hit(rank, 1);
                ndcg += Metrics.ndcg(rank, NDCG_K);
            }
        }
        return new double[] {hr / test.size(), ndcg / test.size()};
    }

    /** The training prompts' demonstrations, chosen by the production adapter (in place) from each captured pool. */
    private List<RecLMTrainer.StreamExample> withDemonstrations(Session s, List<Captured> train) {
        List<DemoSelector.Target> targets = new ArrayList<>(train.size());
        for (Captured c : train) {
            targets.add(new DemoSelector.Target(c.userId(), recent(c.history()), c.pool()));
        }
        List<List<Demonstration>> demos = s.lm().withAdapter(a -> s.selector().select(targets, cfg.strategy(), cfg.m()));
        List<RecLMTrainer.StreamExample> out = new ArrayList<>(train.size());
        for (int i = 0; i < train.size(); i++) {
            Captured c = train.get(i);
            out.add(new RecLMTrainer.StreamExample(c.userId(), recent(c.history()), c.target(), c.candidates(),
                    demos.get(i)));
        }
        return out;
    }

    /** Saves the in-place adapter under its content-derived version and announces it on {@code adapters}. */
    private String publish(LanguageModel lm, String parent, Map<String, Double> metrics) throws IOException {
        Path dir = cfg.rollout().adaptersDir();
        Path staging = Files.createTempDirectory(dir.getParent() == null ? Path.of(".") : ensure(dir), ".staging-");
        try {
            AdapterStore.save(lm, staging, "staging", metrics);
            byte[] weights = Files.readAllBytes(staging.resolve("staging").resolve(AdapterStore.FILE));
            String version = Manifests.contentVersion(weights);
            // the chaos suite's trainer-kill waits for this line ("publishing adapter ") to kill -9 mid-publish
            log.info("publishing adapter {} ({} bytes, parent {})", version, weights.length, parent);
            AdapterStore.save(lm, dir, version, metrics, parent);
            AdapterManifest m = Manifests.forPublication(dir.resolve(version), cfg.rollout().inlineMaxBytes(), null);
            try {
                producer.send(new ProducerRecord<>(topics.adapters().name(), version, m)).get();
            } catch (Exception e) {
                throw new IOException("publishing adapter " + version + " to " + topics.adapters().name() + " failed", e);
            }
            return version;
        } finally {
            deleteTree(staging);
        }
    }

    private static Path ensure(Path dir) throws IOException {
        Files.createDirectories(dir);
        return dir;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    /** The last serving.history.length items: what the prompt shows. */
    private long[] recent(long[] history) {
        return AdaptRec.recent(history, cfg.historyLength());
    }

    private static int indexOf(long[] a, long v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        throw new IllegalArgumentException("target " + v + " not among the candidates");
    }

    public List<Round> rounds() {
        return List.copyOf(rounds);
    }

    /** Examples captured since the last round. */
    public int pendingExamples() {
        synchronized (window) {
            return fresh;
        }
    }

    /** Live interactions that could not become examples (no history yet, unknown item, overflow). */
    public long skipped() {
        return skipped;
    }

    /** Rounds abandoned because a training step was not finite. */
    public long abortedRounds() {
        return aborted;
    }

    public Throwable failure() {
        return failure != null ? failure : mirror.failure() != null ? mirror.failure() : feed.failure();
    }

    @Override
    public void close() {
        running.set(false);
        thread.interrupt();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        feed.close();
        mirror.close();
        producer.close(Duration.ofSeconds(2));
        lm.close();
    }
}
