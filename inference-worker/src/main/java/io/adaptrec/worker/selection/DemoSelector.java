package io.adaptrec.worker.selection;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import io.adaptrec.worker.model.Demonstration;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.Prompt;
import io.adaptrec.worker.model.PromptTemplate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * AdaptRec stage 2: choose M demonstrations for a target user from their Top-N similar-user pool.
 *
 * <p>{@link Strategy#ADAPTIVE} asks the language model itself. Each pool member is placed alone in
 * the selection prompt, with the target's history cut before their most recent known item(s), and
 * its usefulness is the gain in log-likelihood of those known items over the prompt without any
 * demonstration. Only information before each known item is used, so the judgement measures real
 * predictive value. Because the judge is the model being fine-tuned, the selection moves when the
 * adapter moves: the paper's self-adaptive loop.
 *
 * <p>Adaptive rankings cost (N + 1) x knownItems prompts per target (33 with the defaults), so they
 * are cached, bounded, under a key of everything they depend on: adapter generation, user, the
 * target's history, the pool's version and its members. A changed pool or adapter never serves a
 * stale ranking.
 */
public final class DemoSelector {

    /**
     * @param poolSize   N, size of the similar-user pool (paper: 10)
     * @param demoLen    items shown per demonstration before its choice
     * @param negatives  random candidates placed next to the known item in selection prompts
     * @param knownItems how many of the target's most recent items are used to judge a member
     */
    public record Config(int poolSize, int demoLen, int negatives, int knownItems) {
        public Config {
            if (poolSize < 1 || poolSize > 100) {
                throw new IllegalArgumentException("poolSize must be in [1, 100], got " + poolSize);
            }
            if (demoLen < 1 || demoLen > 50) {
                throw new IllegalArgumentException("demoLen must be in [1, 50], got " + demoLen);
            }
            if (negatives < 0 || knownItems < 1 || knownItems > 5) {
                throw new IllegalArgumentException("negatives must be >= 0 and knownItems in [1, 5]");
            }
        }

        public static Config defaults() {
            return new Config(10, 10, 19, 3);
        }
    }

    /**
     * A user to select for: their id (never in their own pool), recent history (oldest first) and
     * stage-1 pool with the members' histories.
     */
    public record Target(long userId, long[] history, Neighbourhood.Pool pool) {}

    /** A chosen pool member, its stage-2 score (higher is better) and the demonstration it gives. */
    public record Selected(Neighbourhood.Member member, float score, Demonstration demonstration) {}

    /** What a cached adaptive ranking depends on: the adapter, the target's history and the pool. */
    private record CacheKey(long adapterGeneration, long userId, int historyHash, long poolVersion, long poolHash) {}

    /** A cached adaptive ranking: member ids best first, with their gains. */
    private record Ranked(long[] userIds, float[] scores) {}

    private final LanguageModel lm;
    private final PromptTemplate template;
    private final Config cfg;
    private final long[] catalogue;
    private final Cache<CacheKey, Ranked> rankCache;

    /** @param cacheEntries bound of the adaptive-ranking cache (entries; 0 disables it) */
    public DemoSelector(LanguageModel lm, PromptTemplate selectionTemplate, Config cfg, long cacheEntries) {
        this.lm = lm;
        this.template = selectionTemplate;
        this.cfg = cfg;
        this.catalogue = lm.vocabulary().itemIds();
        this.rankCache = Caffeine.newBuilder().maximumSize(cacheEntries).recordStats().build();
    }

    public DemoSelector(LanguageModel lm, PromptTemplate selectionTemplate, Config cfg) {
        this(lm, selectionTemplate, cfg, 100_000);
    }

    public Config config() {
        return cfg;
    }

    /** Forget cached adaptive rankings (they are also keyed by the adapter generation). */
    public void invalidate() {
        rankCache.invalidateAll();
    }

    /** Adaptive rankings held in the cache now (approximate, as Caffeine counts). */
    public long cached() {
        return rankCache.estimatedSize();
    }

    /** Hits and misses of the adaptive-ranking cache since start. */
    public CacheStats cacheStats() {
        return rankCache.stats();
    }

    /** The M demonstrations for each target, best first. */
    public List<List<Demonstration>> select(List<Target> targets, Strategy strategy, int m) {
        List<List<Demonstration>> out = new ArrayList<>(targets.size());
        for (List<Selected> s : choose(targets, strategy, m)) {
            out.add(s.stream().map(Selected::demonstration).toList());
        }
        return out;
    }

    /**
     * The M chosen pool members of each target, best first, with their scores and demonstrations.
     * Demonstration windows are cut from the members' histories as given, so a member's newest
     * interactions show even when the ranking itself comes from the cache.
     */
    public List<List<Selected>> choose(List<Target> targets, Strategy strategy, int m) {
        List<Ranked> ranked = rank(targets, strategy);
        List<List<Selected>> out = new ArrayList<>(targets.size());
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            Map<Long, Neighbourhood.Member> byId = new HashMap<>();
            for (Neighbourhood.Member mem : t.pool().members()) {
                byId.put(mem.userId(), mem);
            }
            Ranked r = ranked.get(i);
            List<Selected> chosen = new ArrayList<>();
            for (int k = 0; k < r.userIds().length && chosen.size() < m; k++) {
                Neighbourhood.Member mem = byId.get(r.userIds()[k]);
                if (mem.history().length == 0) {
                    continue;   // nothing to demonstrate (e.g. every event after the request's asOf)
                }
                chosen.add(new Selected(mem, r.scores()[k], window(mem.userId(), mem.history(), t.history(), cfg.demoLen())));
            }
            out.add(chosen);
        }
        return out;
    }

    /** Pool members of each target ordered by the strategy (empty for NONE), as user ids. */
    public List<long[]> rankIds(List<Target> targets, Strategy strategy) {
        return rank(targets, strategy).stream().map(Ranked::userIds).toList();
    }

    private List<Ranked> rank(List<Target> targets, Strategy strategy) {
        List<Ranked> out = new ArrayList<>(Collections.nCopies(targets.size(), null));
        List<Integer> todo = new ArrayList<>();
        List<CacheKey> keys = new ArrayList<>(Collections.nCopies(targets.size(), null));
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            List<Neighbourhood.Member> members = t.pool().members();
            long[] ids = members.stream().mapToLong(Neighbourhood.Member::userId).toArray();
            float[] sims = new float[ids.length];
            for (int k = 0; k < ids.length; k++) {
                sims[k] = members.get(k).similarity();
            }
            if (strategy == Strategy.NONE) {
                out.set(i, new Ranked(new long[0], new float[0]));
                continue;
            }
            switch (strategy) {
                case SIMILARITY -> out.set(i, new Ranked(ids, sims));
                case STATIC -> {
                    // seeded by the user so that every variant and seed sees the same "static" pick
                    List<Integer> order = new ArrayList<>();
                    for (int k = 0; k < ids.length; k++) {
                        order.add(k);
                    }
                    Collections.shuffle(order, new Random(0x5eedL ^ t.userId() * 31 + Arrays.hashCode(t.history())));
                    long[] sid = new long[ids.length];
                    float[] ssim = new float[ids.length];
                    for (int k = 0; k < ids.length; k++) {
                        sid[k] = ids[order.get(k)];
                        ssim[k] = sims[order.get(k)];
                    }
                    out.set(i, new Ranked(sid, ssim));
                }
                default -> {
                    CacheKey key = new CacheKey(lm.adapterGeneration(), t.userId(), Arrays.hashCode(t.history()),
                            t.pool().version(), t.pool().membersHash());
                    Ranked cached = rankCache.getIfPresent(key);
                    if (cached != null) {
                        out.set(i, cached);
                    } else {
                        out.set(i, new Ranked(ids, sims));   // replaced below
                        keys.set(i, key);
                        todo.add(i);
                    }
                }
            }
        }
        if (!todo.isEmpty()) {
            rankAdaptive(targets, todo, out, keys);
        }
        return out;
    }

    /** One batched pass: every (target, known item, member-or-baseline) prompt scored together. */
    private void rankAdaptive(List<Target> targets, List<Integer> todo, List<Ranked> out, List<CacheKey> keys) {
        List<Prompt> prompts = new ArrayList<>();
        List<Long> answers = new ArrayList<>();
        List<int[]> spans = new ArrayList<>();   // per target: first prompt index, known-item count
        for (int i : todo) {
            Target t = targets.get(i);
            List<Neighbourhood.Member> pool = t.pool().members();
            int first = prompts.size();
            int known = Math.min(cfg.knownItems(), t.history().length - 1);
            for (int j = 1; j <= known; j++) {
                long[] before = Arrays.copyOf(t.history(), t.history().length - j);
                long item = t.history()[t.history().length - j];
                long[] cands = candidates(item, t, j);
                prompts.add(template.render(lm.vocabulary(), List.of(), before, cands));
                answers.add(item);
                for (Neighbourhood.Member v : pool) {
                    Demonstration d = window(v.userId(), v.history(), before, cfg.demoLen());
                    prompts.add(template.render(lm.vocabulary(), List.of(d), before, cands));
                    answers.add(item);
                }
            }
            spans.add(new int[] {first, Math.max(known, 0)});
        }
        float[] lp = lm.answerLogProb(prompts, answers.stream().mapToLong(Long::longValue).toArray());
        for (int s = 0; s < todo.size(); s++) {
            int i = todo.get(s);
            long[] pool = out.get(i).userIds();
            int first = spans.get(s)[0];
            int known = spans.get(s)[1];
            double[] gain = new double[pool.length];
            for (int j = 0; j < known; j++) {
                int base = first + j * (pool.length + 1);
                for (int v = 0; v < pool.length; v++) {
                    gain[v] += lp[base + 1 + v] - lp[base];
                }
            }
            Integer[] order = new Integer[pool.length];
            for (int v = 0; v < pool.length; v++) {
                order[v] = v;
            }
            // stable sort: ties (e.g. a one-item history with nothing to judge) keep pool (cosine) order
            Arrays.sort(order, (a, b) -> Double.compare(gain[b], gain[a]));
            long[] ranked = new long[pool.length];
            float[] scores = new float[pool.length];
            for (int v = 0; v < pool.length; v++) {
                ranked[v] = pool[order[v]];
                scores[v] = (float) gain[order[v]];
            }
            Ranked r = new Ranked(ranked, scores);
            out.set(i, r);
            rankCache.put(keys.get(i), r);
        }
    }

    /** The known item among {@code negatives} items outside the target's history: the one candidate sampler. */
    private long[] candidates(long item, Target t, int j) {
        Set<Long> seen = new HashSet<>();
        for (long h : t.history()) {
            seen.add(h);
        }
        return io.adaptrec.worker.eval.CandidateSampler.withTarget(catalogue, t.userId(), item, cfg.negatives() + 1,
                t.userId() * 1_000_003L + j, seen::contains);
    }

    /**
     * The demonstration a pool member contributes for this target: a window of their sequence around
     * the latest item they share with the target's history, and the item they chose right after it.
     * Centring on the shared item shows what a similar user did next from the same point, which is
     * the collaborative signal a demonstration carries; with no shared item, their latest window.
     */
    public static Demonstration window(long userId, long[] seq, long[] targetHistory, int demoLen) {
        if (seq.length < 2) {
            return new Demonstration(userId, Arrays.copyOf(seq, Math.max(0, seq.length - 1)),
                    seq.length == 0 ? -1 : seq[seq.length - 1]);
        }
        Set<Long> h = new HashSet<>();
        for (long x : targetHistory) {
            h.add(x);
        }
        int anchor = -1;
        for (int i = seq.length - 1; i >= 0; i--) {
            if (h.contains(seq[i])) {
                anchor = i;
                break;
            }
        }
        int choice = anchor < 0 ? seq.length - 1 : Math.min(seq.length - 1, anchor + (demoLen + 1) / 2);
        choice = Math.max(choice, 1);
        int from = Math.max(0, choice - demoLen);
        return new Demonstration(userId, Arrays.copyOfRange(seq, from, choice), seq[choice]);
    }
}
