package io.adaptrec.worker.serving;

import io.adaptrec.avro.Item;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SelectedDemonstration;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.NewItem;
import io.adaptrec.worker.model.Ranking;
import io.adaptrec.worker.model.Vocabulary;
import io.adaptrec.worker.rollout.Router;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Neighbourhood;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Turns a batch of decoded requests into exactly one response each; no Kafka in here, so it is
 * tested directly. Order of decisions per request:
 *
 * <ol>
 *   <li>invalid ({@code k} out of range, empty, duplicate, unknown or too many candidates):
 *       {@code INVALID_REQUEST} with the reason;</li>
 *   <li>read after its deadline ({@code requestedAt + serving.request.deadline.ms}): {@code TIMEOUT};</li>
 *   <li>no candidates given: the worker generates them (pool members' recent items, then items
 *       popular lately; never an item the user interacted with before {@code asOf});</li>
 *   <li>no history before {@code asOf} (unknown, deleted or brand-new user): cold start, path
 *       {@code popular}, status {@code FALLBACK};</li>
 *   <li>otherwise the AdaptRec core: path {@code adaptrec} (status {@code OK}) or, when the user
 *       has no usable pool yet, {@code history-only} (status {@code FALLBACK}).</li>
 * </ol>
 */
public final class RequestHandler {

    private static final long[] NONE = new long[0];

    private final AdaptRec core;
    private final Neighbourhood neighbourhood;
    private final StateMirror mirror;
    private final ServingConfig cfg;
    private final WorkerMetrics metrics;
    private final Vocabulary vocab;
    private final Supplier<Router> routing;

    public RequestHandler(AdaptRec core, StateMirror mirror, ServingConfig cfg, WorkerMetrics metrics) {
        this(core, mirror, cfg, metrics, null);
    }

    /**
     * @param routing the A/B router in force (read once per batch); null: everyone gets the
     *                model's in-place adapter, outside any experiment
     */
    public RequestHandler(AdaptRec core, StateMirror mirror, ServingConfig cfg, WorkerMetrics metrics,
                          Supplier<Router> routing) {
        Router fixed = new Router(core.model().adapterVersion(), null);
        this.routing = routing != null ? routing : () -> fixed;
        this.core = core;
        this.mirror = mirror;
        this.neighbourhood = new LiveNeighbourhood(mirror);
        this.cfg = cfg;
        this.metrics = metrics;
        this.vocab = core.model().vocabulary();
    }

    /**
     * @param readNanos {@link System#nanoTime()} when the batch was read (the latency origin)
     * @param nowMillis wall-clock time the deadline is checked against
     */
    public List<RecommendationResponse> handle(List<RecommendationRequest> batch, long readNanos, long nowMillis) {
        RecommendationResponse.Builder[] out = new RecommendationResponse.Builder[batch.size()];
        Router router = routing.get();   // one routing snapshot per batch
        Router.Route[] routes = new Router.Route[batch.size()];
        // model queries grouped by the adapter their users are routed to (one core call per adapter)
        Map<String, List<Integer>> rowsByAdapter = new LinkedHashMap<>();
        Map<Integer, AdaptRec.Query> queries = new HashMap<>();
        for (int i = 0; i < batch.size(); i++) {
            RecommendationRequest r = batch.get(i);
            routes[i] = router.route(r.getUserId());
            try {
                AdaptRec.Query q = prepare(r, nowMillis, out, i);
                if (q != null) {
                    rowsByAdapter.computeIfAbsent(routes[i].adapterVersion(), v -> new ArrayList<>()).add(i);
                    queries.put(i, q);
                }
            } catch (RuntimeException e) {
                // a defect met by one request must not stop the worker or its batch
                out[i] = failure(r, ResponseStatus.ERROR, "internal error: " + e);
                metrics.error("internal");
            }
        }
        for (Map.Entry<String, List<Integer>> group : rowsByAdapter.entrySet()) {
            List<Integer> rows = group.getValue();
            List<AdaptRec.Query> qs = rows.stream().map(queries::get).toList();
            long t0 = System.nanoTime();
            try {
                List<AdaptRec.Recommendation> recs = core.recommend(qs, neighbourhood, cfg.strategy(), cfg.m(),
                        newItemWords(qs), group.getKey());
                for (int q = 0; q < recs.size(); q++) {
                    fill(out[rows.get(q)], recs.get(q), batch.get(rows.get(q)).getK());
                }
            } catch (RuntimeException e) {
                // One bad batch must not stop the worker: every request in it gets an ERROR response.
                for (int row : rows) {
                    out[row] = failure(batch.get(row), ResponseStatus.ERROR, "scoring failed: " + e);
                    metrics.error("model");
                }
            }
            metrics.modelBatch(System.nanoTime() - t0);
        }
        List<RecommendationResponse> responses = new ArrayList<>(batch.size());
        long done = System.nanoTime();
        for (int i = 0; i < out.length; i++) {
            RecommendationResponse.Builder b = out[i];
            long micros = (done - readNanos) / 1000;
            // every response names its arm, failures included: the error guardrail counts them per arm
            RecommendationResponse resp = b.setArm(routes[i].arm()).setExperimentId(routes[i].experimentId())
                    .setLatencyMicros(micros).setRespondedAt(Instant.ofEpochMilli(System.currentTimeMillis()))
                    .build();
            metrics.request(resp.getStatus().name(), resp.getPath().isEmpty() ? "none" : resp.getPath(), micros);
            responses.add(resp);
        }
        return responses;
    }

    /**
     * Decides everything about one request that needs no model: a response in {@code out[i]}
     * (invalid, late, cold start) and null, or the query for the core (and a started builder).
     */
    private AdaptRec.Query prepare(RecommendationRequest r, long nowMillis, RecommendationResponse.Builder[] out, int i) {
        String invalid = validate(r);
        if (invalid != null) {
            out[i] = failure(r, ResponseStatus.INVALID_REQUEST, invalid);
            metrics.error("invalid");
            return null;
        }
        long age = nowMillis - r.getRequestedAt().toEpochMilli();
        if (age > cfg.deadlineMs()) {
            out[i] = failure(r, ResponseStatus.TIMEOUT, "request is " + age + " ms old when read, beyond the "
                    + cfg.deadlineMs() + " ms deadline (serving.request.deadline.ms)");
            metrics.error("timeout");
            return null;
        }
        long asOf = r.getAsOf() == null ? Long.MAX_VALUE : r.getAsOf().toEpochMilli();
        StateMirror.History h = mirror.history(r.getUserId());
        long[] history = h == null ? NONE : h.itemsBefore(asOf);
        boolean generated = r.getCandidates() == null;
        long[] candidates = generated ? generate(r.getUserId(), history, asOf)
                : r.getCandidates().stream().mapToLong(Long::longValue).toArray();
        if (generated) {
            metrics.candidatesGenerated();
        }
        if (history.length == 0 || candidates.length == 0) {
            out[i] = popular(r, candidates, generated, asOf);
            return null;
        }
        out[i] = RecommendationResponse.newBuilder().setRequestId(r.getRequestId()).setUserId(r.getUserId())
                .setCandidatesGenerated(generated);
        return new AdaptRec.Query(r.getUserId(), history, candidates, asOf);
    }

    /** Why the request cannot be served, or null. */
    String validate(RecommendationRequest r) {
        if (r.getK() < 1 || r.getK() > cfg.maxK()) {
            return "k must be in [1, " + cfg.maxK() + "], got " + r.getK();
        }
        List<Long> c = r.getCandidates();
        if (c == null) {
            return null;
        }
        if (c.isEmpty()) {
            return "candidates is an empty list (leave it null to let the worker generate candidates)";
        }
        if (c.size() > cfg.maxCandidates()) {
            return c.size() + " candidates, at most " + cfg.maxCandidates() + " allowed (serving.candidates.max)";
        }
        Set<Long> distinct = new HashSet<>();
        List<Long> unknown = new ArrayList<>();
        for (long item : c) {
            if (!distinct.add(item)) {
                return "candidate " + item + " appears more than once";
            }
            if (!vocab.hasItem(item) && mirror.item(item) == null) {
                unknown.add(item);
            }
        }
        if (!unknown.isEmpty()) {
            return "unknown candidate items " + unknown.subList(0, Math.min(10, unknown.size()))
                    + (unknown.size() > 10 ? " and " + (unknown.size() - 10) + " more" : "")
                    + " (in neither the model's catalogue nor the items topic)";
        }
        return null;
    }

    /**
     * Candidates for a request without any: the items pool members interacted with most recently
     * (up to half of serving.candidates.generate), then items popular lately; never the user's
     * own items before asOf, and only items the model can score.
     */
    long[] generate(long user, long[] history, long asOf) {
        int want = cfg.generatedCandidates();
        Set<Long> own = new HashSet<>();
        for (long h : history) {
            own.add(h);
        }
        LinkedHashSet<Long> out = new LinkedHashSet<>();
        Neighbourhood.Pool pool = neighbourhood.pool(user, history, cfg.poolSize(), asOf);
        for (Neighbourhood.Member m : pool.members()) {
            long[] h = m.history();
            for (int i = h.length - 1; i >= 0 && out.size() < (want + 1) / 2; i--) {
                if (usable(user, h[i], own, asOf)) {
                    out.add(h[i]);
                }
            }
        }
        mirror.popular(want * 4 + own.size(), item -> {
            if (out.size() < want && usable(user, item, own, asOf)) {
                out.add(item);
            }
        });
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private boolean usable(long user, long item, Set<Long> own, long asOf) {
        return !own.contains(item) && !mirror.seen(user, item, asOf) && scorable(item);
    }

    private boolean scorable(long item) {
        if (vocab.hasItem(item)) {
            return true;
        }
        Item it = mirror.item(item);
        return it != null && newItem(it).scorable();
    }

    /** What the model reads of every candidate it was not trained on (text-aware scoring). */
    private Map<Long, NewItem> newItemWords(List<AdaptRec.Query> queries) {
        Map<Long, NewItem> out = new HashMap<>();
        int count = 0;
        for (AdaptRec.Query q : queries) {
            for (long c : q.candidates()) {
                if (!vocab.hasItem(c)) {
                    Item it = mirror.item(c);
                    if (it != null) {
                        out.computeIfAbsent(c, k -> newItem(it));
                        count++;
                    }
                }
            }
        }
        if (count > 0) {
            metrics.newItemsScored(count);
        }
        return out;
    }

    /** The model's view of a catalogue item it was not trained on (text vectors are cached per text). */
    private NewItem newItem(Item it) {
        return core.model().newItem(datasetItem(it));
    }

    private static Dataset.Item datasetItem(Item it) {
        return new Dataset.Item(it.getItemId(), it.getTitle(), it.getGenres());
    }

    /**
     * Cold start: candidates (given or generated) ranked by popularity lately, score
     * -ln(1 + popularity rank); an item outside the popular list ranks after all popular ones.
     */
    private RecommendationResponse.Builder popular(RecommendationRequest r, long[] candidates, boolean generated,
                                                   long asOf) {
        List<Long> byPopularity = new ArrayList<>();   // one read of the popularity list serves both uses
        mirror.popular(Math.max(1000, Math.max(r.getK() * 4, candidates.length * 10)), byPopularity::add);
        long[] cands = candidates.length > 0 ? candidates : byPopularity.stream()
                .filter(item -> !mirror.seen(r.getUserId(), item, asOf)).limit(r.getK()).mapToLong(Long::longValue).toArray();
        Map<Long, Integer> rank = new HashMap<>();
        for (int i = 0; i < byPopularity.size(); i++) {
            rank.putIfAbsent(byPopularity.get(i), i);
        }
        float[] scores = new float[cands.length];
        for (int i = 0; i < cands.length; i++) {
            Integer k = rank.get(cands[i]);
            scores[i] = (float) -Math.log(1 + (k == null ? byPopularity.size() + 1 : k));
        }
        return RecommendationResponse.newBuilder().setRequestId(r.getRequestId()).setUserId(r.getUserId())
                .setItems(top(Ranking.scored(cands, scores), r.getK())).setDemonstrations(List.of())
                .setSelected(List.of()).setAdapterVersion(LanguageModel.BASE).setArm("control")
                .setStatus(ResponseStatus.FALLBACK).setPath(AdaptRec.Path.POPULAR.wire())
                .setCandidatesGenerated(generated);
    }

    private void fill(RecommendationResponse.Builder b, AdaptRec.Recommendation rec, int k) {
        List<SelectedDemonstration> sel = new ArrayList<>();
        for (DemoSelector.Selected s : rec.demonstrations()) {
            sel.add(SelectedDemonstration.newBuilder().setUserId(s.member().userId()).setSelectionScore(s.score())
                    .setSimilarity(s.member().similarity())
                    .setWatched(Arrays.stream(s.demonstration().watched()).boxed().toList())
                    .setChoice(s.demonstration().choice()).build());
        }
        b.setItems(top(rec.ranked(), k)).setDemonstrations(sel.stream().map(SelectedDemonstration::getUserId).toList())
                .setSelected(sel).setAdapterVersion(rec.adapter().version()).setArm("control")
                .setStatus(rec.path() == AdaptRec.Path.ADAPTREC ? ResponseStatus.OK : ResponseStatus.FALLBACK)
                .setPath(rec.path().wire())
                .setPoolEmbeddingVersion(rec.pool().isEmpty() ? null : rec.pool().embeddingVersion())
                .setPoolVersion(rec.pool().version());
    }

    private static List<ScoredItem> top(List<Ranking.Scored> ranked, int k) {
        List<ScoredItem> out = new ArrayList<>(Math.min(k, ranked.size()));
        for (int i = 0; i < Math.min(k, ranked.size()); i++) {
            out.add(new ScoredItem(ranked.get(i).itemId(), ranked.get(i).score()));
        }
        return out;
    }

    /** A response that carries no ranking: INVALID_REQUEST, TIMEOUT or ERROR, with the reason. */
    static RecommendationResponse.Builder failure(RecommendationRequest r, ResponseStatus status, String error) {
        return failure(r.getRequestId(), r.getUserId(), status, error);
    }

    static RecommendationResponse.Builder failure(String requestId, long userId, ResponseStatus status, String error) {
        return RecommendationResponse.newBuilder().setRequestId(requestId).setUserId(userId).setItems(List.of())
                .setDemonstrations(List.of()).setSelected(List.of()).setAdapterVersion(LanguageModel.BASE)
                .setArm("control").setStatus(status).setError(error).setPath("none");
    }
}
