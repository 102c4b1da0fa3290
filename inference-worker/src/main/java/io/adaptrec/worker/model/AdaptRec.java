package io.adaptrec.worker.model;

import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Neighbourhood;
import io.adaptrec.worker.selection.Strategy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The AdaptRec recommender core, top to bottom in the paper's order (Zhang et al., 2025):
 *
 * <ol>
 *   <li>stage 1, user similarity retrieval: the target's Top-N similar-user pool, with every
 *       member's history as of the query, from a {@link Neighbourhood} (offline: training data;
 *       online: the materialised {@code user-state} and {@code user-pools} topics);</li>
 *   <li>stage 2, self-adaptive user selection: the language model ranks the pool members by how
 *       much each one, as the only demonstration, raises the likelihood of the target's recent
 *       known items, and keeps the Top-M ({@link DemoSelector});</li>
 *   <li>stage 3, contextual prompt-based recommendation: the User-Contextualised prompt (the M
 *       demonstrations, the candidates, the target's history) and constrained scoring of the
 *       candidates at the answer slot ({@link LanguageModel#scoreCandidates}), fused with the sequence
 *       expert's reading of the history when the model has one ({@link #fuseSequence}).</li>
 * </ol>
 *
 * <p>It is a function of values: queries, a neighbourhood, a strategy and M in; one
 * {@link Recommendation} per query out. Offline evaluation and the serving worker both call
 * {@link #recommend}; only the neighbourhood differs. Stages 2 and 3 of a call run under one
 * adapter snapshot, and every recommendation names that adapter.
 */
public final class AdaptRec {

    /** How a ranking was made (the response's {@code path}). */
    public enum Path {
        /** Pool, stage-2 selection and a contextual prompt with demonstrations. */
        ADAPTREC("adaptrec"),
        /** No usable pool (or strategy NONE): the prompt holds the history and no demonstrations. */
        HISTORY_ONLY("history-only"),
        /** Cold start, no history: items popular lately (decided by the caller, never by the model). */
        POPULAR("popular");

        private final String wire;

        Path(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }
    }

    /**
     * One ranking question.
     *
     * @param history    the target's interactions before the query time, oldest first (may be longer
     *                   than the prompt's history length: the most recent items are used)
     * @param candidates items to rank (non-empty)
     * @param asOfMillis event-time cut the neighbourhood applies to member histories
     *                   ({@link Long#MAX_VALUE}: none)
     */
    public record Query(long userId, long[] history, long[] candidates, long asOfMillis) {
        public Query(long userId, long[] history, long[] candidates) {
            this(userId, history, candidates, Long.MAX_VALUE);
        }
    }

    /**
     * The answer to one query.
     *
     * @param candidates     the query's candidates
     * @param scores         log-probability of each candidate at the answer slot (fused with the sequence expert's
     *                       when the model has one), in candidate order
     * @param demonstrations the chosen pool members, in prompt order, with their stage-2 scores
     * @param pool           the stage-1 pool they were chosen from ({@link Neighbourhood.Pool#EMPTY} if none)
     * @param adapter        the adapter both stages scored with
     */
    public record Recommendation(long userId, long[] candidates, float[] scores,
                                 List<DemoSelector.Selected> demonstrations, Neighbourhood.Pool pool,
                                 LanguageModel.AdapterSnapshot adapter, Path path) {

        /** Candidates best first (ties keep candidate order). */
        public List<Ranking.Scored> ranked() {
            return Ranking.scored(candidates, scores);
        }
    }

    private final LanguageModel lm;
    private final DemoSelector selector;
    private final PromptTemplate template;
    private final int historyLen;

    /** @param historyLen the target's most recent items shown in the prompt (paper: 10) */
    public AdaptRec(LanguageModel lm, DemoSelector selector, int historyLen) {
        this.lm = lm;
        this.selector = selector;
        this.template = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        this.historyLen = historyLen;
    }

    public LanguageModel model() {
        return lm;
    }

    public DemoSelector selector() {
        return selector;
    }

    public int historyLen() {
        return historyLen;
    }

    /** Stages 1 to 3 for a batch of queries: one adapter snapshot, batched model calls. */
    public List<Recommendation> recommend(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy, int m) {
        return recommend(queries, neighbourhood, strategy, m, Map.of());
    }

    /**
     * As above, where {@code newItems} describes candidates added to the catalogue after training
     * ({@link LanguageModel#newItem}, {@link LanguageModel#scoreCandidates(List, List, Map)}).
     */
    public List<Recommendation> recommend(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy, int m,
                                          Map<Long, NewItem> newItems) {
        return recommend(queries, neighbourhood, strategy, m, newItems, null);
    }

    /**
     * As above, served by adapter {@code adapterVersion}: an arm loaded next to the in-place
     * adapter, or null for the in-place one ({@link LanguageModel#withAdapter(String, java.util.function.Function)}).
     * Stage 2's cache keys on that adapter's own generation.
     *
     * @throws IllegalArgumentException if {@code adapterVersion} is not loaded
     */
    public List<Recommendation> recommend(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy, int m,
                                          Map<Long, NewItem> newItems, String adapterVersion) {
        return lm.withAdapter(adapterVersion, adapter -> {
            // Stage 1: the pool and its members' histories as of each query.
            List<DemoSelector.Target> targets = targets(queries, neighbourhood, strategy);
            // Stage 2: the model picks the Top-M demonstrations (cached per user, pool and adapter).
            List<List<DemoSelector.Selected>> chosen = selector.choose(targets, strategy, m);
            // Stage 3: the User-Contextualised prompt, scored on the candidates only.
            List<Prompt> prompts = new ArrayList<>(queries.size());
            List<long[]> cands = new ArrayList<>(queries.size());
            for (int i = 0; i < queries.size(); i++) {
                List<Demonstration> demos = chosen.get(i).stream().map(DemoSelector.Selected::demonstration).toList();
                prompts.add(template.render(lm.vocabulary(), demos, targets.get(i).history(), queries.get(i).candidates()));
                cands.add(queries.get(i).candidates());
            }
            float[][] scores = fuseSequence(lm.scoreCandidates(prompts, cands, newItems), targets, cands, newItems);
            List<Recommendation> out = new ArrayList<>(queries.size());
            for (int i = 0; i < queries.size(); i++) {
                List<DemoSelector.Selected> demos = chosen.get(i);
                out.add(new Recommendation(queries.get(i).userId(), queries.get(i).candidates(), scores[i], demos,
                        targets.get(i).pool(), adapter, demos.isEmpty() ? Path.HISTORY_ONLY : Path.ADAPTREC));
            }
            return out;
        });
    }

    /**
     * With a sequence expert ({@link LanguageModel#attachSequenceExpert}): log p(prompt) + w log p(sequence) per
     * candidate, renormalised over the candidates, where the sequence reading is the expert's next-item
     * distribution after "[BOS] the target user watched" and the same recent history the prompt shows. The expert
     * is the frozen stage-A model: on ML-100K loo validation it reads the history better than the fine-tuned prompt
     * model does, and the two together rank better than either (BENCHMARKS.md, "The sequence expert").
     * Without an expert the prompt's scores are returned as they are.
     */
    private float[][] fuseSequence(float[][] prompt, List<DemoSelector.Target> targets, List<long[]> cands,
                                   Map<Long, NewItem> newItems) {
        LanguageModel expert = lm.sequenceExpert();
        if (expert == null) {
            return prompt;
        }
        float w = lm.sequenceWeight();
        float[][] seq = sequenceReading(expert, targets.stream().map(DemoSelector.Target::history).toList(), cands,
                newItems);
        float[][] out = new float[prompt.length][];
        for (int i = 0; i < prompt.length; i++) {
            float[] f = new float[prompt[i].length];
            for (int j = 0; j < f.length; j++) {
                f[j] = prompt[i][j] + w * seq[i][j];
            }
            out[i] = Scorer.logSoftmax(f, null, 0, f.length, f.length);
        }
        return out;
    }

    /** The expert's candidate log-probabilities after "[BOS] the target user watched" and each recent history. */
    private float[][] sequenceReading(LanguageModel expert, List<long[]> recent, List<long[]> cands,
                                      Map<Long, NewItem> newItems) {
        int[] prefix = RecLMSystem.sequencePrefix(expert.vocabulary());
        List<Prompt> seqPrompts = new ArrayList<>(recent.size());
        for (long[] h : recent) {
            seqPrompts.add(Prompt.sequence(prefix, expert.vocabulary(), h, historyLen));
        }
        return expert.scoreCandidates(seqPrompts, cands, newItems);
    }

    /**
     * The sequence expert's reading alone, without prompt, pool or demonstrations (the {@code sequence} evaluation
     * variant: how much of a fused ranking the prompt adds).
     *
     * @throws IllegalStateException if the model has no sequence expert
     */
    public float[][] sequenceOnly(List<Query> queries) {
        LanguageModel expert = lm.sequenceExpert();
        if (expert == null) {
            throw new IllegalStateException("the model has no sequence expert (train it with --sequence-weight above 0)");
        }
        return sequenceReading(expert, queries.stream().map(q -> recent(q.history())).toList(),
                queries.stream().map(Query::candidates).toList(), Map.of());
    }

    /**
     * Stages 1 and 2 only, for their side effect: the selections land in the stage-2 cache under
     * exactly the keys {@link #recommend} looks up (e.g. to warm a worker before it takes traffic).
     * The queries' candidates are not used.
     */
    public void select(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy, int m) {
        select(queries, neighbourhood, strategy, m, null);
    }

    /** As above, for adapter {@code adapterVersion} (null: the in-place adapter). */
    public void select(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy, int m,
                       String adapterVersion) {
        lm.withAdapter(adapterVersion, adapter -> selector.choose(targets(queries, neighbourhood, strategy), strategy, m));
    }

    private List<DemoSelector.Target> targets(List<Query> queries, Neighbourhood neighbourhood, Strategy strategy) {
        List<DemoSelector.Target> targets = new ArrayList<>(queries.size());
        for (Query q : queries) {
            long[] recent = recent(q.history());
            Neighbourhood.Pool pool = strategy == Strategy.NONE ? Neighbourhood.Pool.EMPTY
                    : neighbourhood.pool(q.userId(), recent, selector.config().poolSize(), q.asOfMillis());
            targets.add(new DemoSelector.Target(q.userId(), recent, pool));
        }
        return targets;
    }

    /** The last {@code historyLen} items: what the prompt shows and what offline stage 1 embeds. */
    public long[] recent(long[] history) {
        return recent(history, historyLen);
    }

    /** The last {@code historyLen} items of {@code history}. */
    public static long[] recent(long[] history, int historyLen) {
        return history.length <= historyLen ? history
                : Arrays.copyOfRange(history, history.length - historyLen, history.length);
    }
}
