package io.adaptrec.worker.model;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Query;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.TrainingData;
import io.adaptrec.worker.eval.UserSequence;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.OfflineNeighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import io.adaptrec.worker.selection.Strategy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The AdaptRec recommender end to end, in paper order: stage 1 similar-user pool, stage 2
 * demonstration selection, stage 3 User-Contextualised prompt and constrained scoring.
 */
public final class RecLMSystem implements AutoCloseable {

    /** Users' most recent items that form their stage-1 sequence embedding. */
    public static final int POOL_RECENT = 20;
    public static final String ADAPTERS = "adapters";
    public static final String CURRENT = "CURRENT";
    public static final String TRAINING_JSON = "training.json";
    /** Subdirectory of a model directory holding the sequence expert's base, with {@link #FUSION_JSON} (its weight). */
    public static final String SEQUENCE_EXPERT = "sequence-expert";
    public static final String FUSION_JSON = "fusion.json";
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final LanguageModel lm;
    private final Map<Long, long[]> sequences;
    private final Map<Long, long[]> times;
    private final DemoSelector selector;
    private final OfflineNeighbourhood neighbourhood;
    private final AdaptRec core;

    public RecLMSystem(LanguageModel lm, Map<Long, long[]> sequences, DemoSelector.Config selection, int historyLen) {
        this(lm, sequences, null, selection, historyLen);
    }

    /**
     * @param times event times parallel to {@code sequences}, or null: with them, stage 1 is
     *              time-safe for queries that name their moment ({@link OfflineNeighbourhood})
     */
    public RecLMSystem(LanguageModel lm, Map<Long, long[]> sequences, Map<Long, long[]> times,
                       DemoSelector.Config selection, int historyLen) {
        this.lm = lm;
        this.sequences = sequences;
        this.times = times;
        SimilarUsers index = new SimilarUsers(sequences, lm.vocabulary(), lm.itemEmbeddings(), POOL_RECENT);
        this.neighbourhood = new OfflineNeighbourhood(index, sequences, times, AdapterStore.baseModelId(lm));
        this.selector = new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION), selection);
        this.core = new AdaptRec(lm, selector, historyLen);
    }

    /** Words of both templates, for building the vocabulary. */
    public static Set<String> templateWords() {
        Set<String> w = new LinkedHashSet<>(PromptTemplate.resource(PromptTemplate.RECOMMENDATION).words());
        w.addAll(PromptTemplate.resource(PromptTemplate.SELECTION).words());
        return w;
    }

    public static Map<Long, long[]> sequences(TrainingData data) {
        Map<Long, long[]> out = new LinkedHashMap<>();
        for (Map.Entry<Long, UserSequence> e : data.sequences().entrySet()) {
            out.put(e.getKey(), e.getValue().items());
        }
        return out;
    }

    /** Event times of the training sequences, parallel to {@link #sequences(TrainingData)}. */
    public static Map<Long, long[]> times(TrainingData data) {
        Map<Long, long[]> out = new LinkedHashMap<>();
        for (Map.Entry<Long, UserSequence> e : data.sequences().entrySet()) {
            out.put(e.getKey(), e.getValue().timesMillis());
        }
        return out;
    }

    /** Stages A, B and C of {@link RecLMTrainer} on a protocol's training data. */
    public static RecLMSystem train(TrainingData data, RecLMConfig modelCfg, TrainConfig tc, Consumer<String> log) {
        return train(data, modelCfg, tc, DemoSelector.Config.defaults(), log);
    }

    /** As {@link #train(TrainingData, RecLMConfig, TrainConfig, Consumer)} with explicit stage-2 settings. */
    public static RecLMSystem train(TrainingData data, RecLMConfig modelCfg, TrainConfig tc, DemoSelector.Config sc,
                                    Consumer<String> log) {
        return train(data, modelCfg, tc, sc, log, (stage, epoch, model) -> { });
    }

    /** As above, calling {@code listener} after every epoch of every stage (e.g. for validation curves). */
    public static RecLMSystem train(TrainingData data, RecLMConfig modelCfg, TrainConfig tc, DemoSelector.Config sc,
                                    Consumer<String> log, RecLMTrainer.EpochListener listener) {
        LanguageModel lm = trainBase(data, modelCfg, tc, log, listener);
        return trainPrompts(lm, data, tc, sc, Strategy.ADAPTIVE, log, listener);
    }

    /**
     * Stage A alone: a new model of {@code data}'s vocabulary trained on its sequences, with early stopping on
     * {@code data}'s validation cases when {@link TrainConfig#patience()} is above 0.
     */
    public static LanguageModel trainBase(TrainingData data, RecLMConfig modelCfg, TrainConfig tc, Consumer<String> log,
                                          RecLMTrainer.EpochListener listener) {
        Map<Long, long[]> seqs = sequences(data);
        Vocabulary vocab = vocabulary(data, modelCfg);
        LanguageModel lm = LanguageModel.create(modelCfg, vocab, tc.seed());
        log.accept(String.format("RecLM: %d users, %d interactions, vocabulary %d (%d items), %d parameters",
                seqs.size(), data.interactionCount(), vocab.size(), vocab.itemCount(),
                lm.parameters(false).values().stream().mapToLong(p -> p.getArray().size()).sum()));
        int[] prefix = sequencePrefix(vocab);
        new RecLMTrainer(tc, log).onEpoch(listener).trainSequences(lm, seqs, prefix, tc.seqEpochs(), tc.lr(),
                RecLMTrainer.candidateLogLikelihood(data.validation(), prefix, tc.historyLen()));
        return lm;
    }

    /**
     * The vocabulary RecLM builds for {@code data}: its catalogue's items and words, and both templates' words; with
     * the items' pretrained text vectors when {@code modelCfg} takes them.
     */
    public static Vocabulary vocabulary(TrainingData data, RecLMConfig modelCfg) {
        Vocabulary v = Vocabulary.build(data.catalogue(), templateWords());
        if (modelCfg.textDim() > 0) {
            if (modelCfg.textDim() != ItemTextEncoder.DIM) {
                throw new IllegalArgumentException("textDim " + modelCfg.textDim() + ": the item text encoder ("
                        + ItemTextEncoder.NAME + ") gives " + ItemTextEncoder.DIM + " dimensions");
            }
            v = v.withItemVectors(data.catalogue());
        }
        return v;
    }

    /**
     * A new model for {@code data} (seeded {@code seed}) whose base holds {@code baseWeights} (parameter name to
     * values, as {@link #baseWeights} returns them): one stage-A result fine-tuned several ways, each on its own copy.
     */
    public static LanguageModel copyOf(TrainingData data, RecLMConfig modelCfg, int seed, Map<String, float[]> baseWeights) {
        LanguageModel lm = LanguageModel.create(modelCfg, vocabulary(data, modelCfg), seed);
        for (var p : lm.parameters(false).entrySet()) {
            float[] w = baseWeights.get(p.getKey());
            if (w == null || w.length != p.getValue().getArray().size()) {
                lm.close();
                throw new IllegalArgumentException("base weights do not fit this model: parameter '" + p.getKey()
                        + "' is " + (w == null ? "missing" : "of size " + w.length));
            }
            p.getValue().getArray().set(w);
        }
        return lm;
    }

    /** The base (non-adapter) parameters of {@code lm} by name, copied out. */
    public static Map<String, float[]> baseWeights(LanguageModel lm) {
        Map<String, float[]> out = new LinkedHashMap<>();
        lm.parameters(false).forEach((name, p) -> out.put(name, p.getArray().toFloatArray()));
        return out;
    }

    /**
     * Stages B and C on a stage-A model ({@code lm}, which the returned system owns): every weight on
     * User-Contextualised prompts, then LoRA with the base frozen, both with {@link TrainConfig#m()}
     * demonstrations chosen by {@code strategy}, re-selected every epoch. {@link Strategy#ADAPTIVE} is
     * AdaptRec's schedule: stage B selects by similarity (the model cannot judge demonstrations before it has
     * learnt the prompt language), stage C adaptively. Another strategy trains both stages with itself, so
     * that an ablation's model has seen the prompts it is evaluated on.
     */
    public static RecLMSystem trainPrompts(LanguageModel lm, TrainingData data, TrainConfig tc, DemoSelector.Config sc,
                                           Strategy strategy, Consumer<String> log, RecLMTrainer.EpochListener listener) {
        Map<Long, long[]> seqs = sequences(data);
        // the sequence expert is stage A as it is now; built after training, so that creating it (which seeds the
        // engine) leaves stages B and C exactly as they run without one
        Map<String, float[]> stageA = tc.sequenceWeight() > 0 ? baseWeights(lm) : null;
        RecLMTrainer trainer = new RecLMTrainer(tc, log).onEpoch(listener);
        PromptTemplate rec = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        RecLMSystem afterA = new RecLMSystem(lm, seqs, sc, tc.historyLen());
        trainer.trainPrompts(lm, seqs, rec, afterA.neighbourhood, afterA.selector,
                strategy == Strategy.ADAPTIVE ? Strategy.SIMILARITY : strategy, false, tc.promptEpochs());
        // The base is final from here on: rebuild stage 1 on its embeddings, then adapt with LoRA.
        RecLMSystem sys = new RecLMSystem(lm, seqs, times(data), sc, tc.historyLen());
        // Re-selection inside training judges pool members on tc.judgeItems() known items: it scores
        // (N + 1) x judgeItems prompts per training prompt, so its cost grows linearly with them.
        RecLMSystem judge = sys.withSelection(
                new DemoSelector.Config(sc.poolSize(), sc.demoLen(), sc.negatives(), tc.judgeItems()));
        trainer.trainPrompts(lm, seqs, rec, judge.neighbourhood, judge.selector, strategy, true, tc.loraEpochs());
        sys.selector.invalidate();
        if (stageA != null) {
            lm.attachSequenceExpert(copyOf(data, lm.config(), tc.seed(), stageA), tc.sequenceWeight());
            log.accept(String.format("sequence expert: the stage-A model, weight %.2f", tc.sequenceWeight()));
        }
        return sys;
    }

    /**
     * Writes the model directory the worker serves: base (config.json, tokenizer.json,
     * item-text.json, base.safetensors), the adapter as {@code adapters/<version>/} with its
     * manifest, {@code adapters/CURRENT} naming it, {@code training.json} describing the run and, when the model
     * has a sequence expert, {@code sequence-expert/} (its base files and {@code fusion.json}).
     */
    public void save(Path dir, String adapterVersion, Map<String, Object> training) throws IOException {
        lm.saveBase(dir);
        AdapterStore.save(lm, dir.resolve(ADAPTERS), adapterVersion, Map.of());
        Files.writeString(dir.resolve(ADAPTERS).resolve(CURRENT), adapterVersion + "\n");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(TRAINING_JSON).toFile(), training);
        LanguageModel expert = lm.sequenceExpert();
        if (expert != null) {
            Path e = dir.resolve(SEQUENCE_EXPERT);
            expert.saveBase(e);
            JSON.writerWithDefaultPrettyPrinter().writeValue(e.resolve(FUSION_JSON).toFile(),
                    Map.of("weight", lm.sequenceWeight()));
        }
    }

    /** Loads a directory written by {@link #save}; stage 1 is rebuilt from {@code data}'s sequences. */
    public static RecLMSystem load(Path dir, TrainingData data, int historyLen) throws IOException {
        return new RecLMSystem(loadModel(dir), sequences(data), times(data), DemoSelector.Config.defaults(), historyLen);
    }

    /** The base of a model directory with the adapter {@code adapters/CURRENT} names, verified and installed. */
    public static LanguageModel loadModel(Path dir) throws IOException {
        LanguageModel lm = LanguageModel.loadBase(dir);
        try {
            installCurrent(lm, dir);
            lm.net().freezeParameters(true);
            Path e = dir.resolve(SEQUENCE_EXPERT);
            if (Files.isRegularFile(e.resolve(FUSION_JSON))) {
                float weight = ((Number) JSON.readValue(e.resolve(FUSION_JSON).toFile(), Map.class).get("weight")).floatValue();
                lm.attachSequenceExpert(LanguageModel.loadBase(e), weight);
            }
            return lm;
        } catch (IOException | RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    /** Installs (in place, verified) the adapter {@code adapters/CURRENT} of model directory {@code dir} names. */
    public static void installCurrent(LanguageModel lm, Path dir) throws IOException {
        Path current = dir.resolve(ADAPTERS).resolve(CURRENT);
        if (!Files.isRegularFile(current)) {
            throw new IOException(dir + ": no " + ADAPTERS + "/" + CURRENT + " naming the adapter to serve");
        }
        AdapterStore.load(lm, dir.resolve(ADAPTERS).resolve(Files.readString(current).strip()));
    }

    /** {@code training.json} of a model directory, or an empty map. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> trainingInfo(Path dir) throws IOException {
        Path f = dir.resolve(TRAINING_JSON);
        return Files.isRegularFile(f) ? JSON.readValue(f.toFile(), Map.class) : Map.of();
    }

    /** Stage-A windows open like the history part of the prompt: "[BOS] the target user watched". */
    static int[] sequencePrefix(Vocabulary vocab) {
        return new int[] {Vocabulary.BOS, vocab.id("the"), vocab.id("target"), vocab.id("user"), vocab.id("watched")};
    }

    /** The same model and pool with other stage-2 settings (for ablations); shares the model. */
    public RecLMSystem withSelection(DemoSelector.Config sc) {
        return new RecLMSystem(lm, sequences, times, sc, core.historyLen());
    }

    public LanguageModel model() {
        return lm;
    }

    public DemoSelector selector() {
        return selector;
    }

    /** Stage 1 from this system's training sequences. */
    public OfflineNeighbourhood neighbourhood() {
        return neighbourhood;
    }

    /** The recommender core this system evaluates with (offline neighbourhood). */
    public AdaptRec core() {
        return core;
    }

    /** Stages 1 to 3 on the offline neighbourhood. */
    public List<AdaptRec.Recommendation> recommend(List<AdaptRec.Query> queries, Strategy strategy, int m) {
        return core.recommend(queries, neighbourhood, strategy, m);
    }

    /** Candidate log-probabilities per query, in the candidates' order. */
    public float[][] score(List<Query> queries, Strategy strategy, int m) {
        List<AdaptRec.Query> qs = new ArrayList<>(queries.size());
        for (Query q : queries) {
            qs.add(new AdaptRec.Query(q.userId(), q.history(), q.candidates(), q.asOfMillis()));
        }
        List<AdaptRec.Recommendation> recs = recommend(qs, strategy, m);
        float[][] out = new float[recs.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = recs.get(i).scores();
        }
        return out;
    }

    /**
     * Harness-facing variants sharing this system, e.g. {@code adaptrec}, {@code static-m9}. The
     * runner closes every recommender it was given; the system closes with the last of them.
     */
    public List<Recommender> recommenders(List<Variant> variants) {
        java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger(variants.size());
        List<Recommender> out = new ArrayList<>();
        for (Variant v : variants) {
            out.add(new VariantRecommender(v, open));
        }
        return out;
    }

    /**
     * A named selection strategy with its M; or, with {@code sequenceOnly}, the model's sequence expert read alone
     * (variant {@code sequence}: no prompt, no pool).
     */
    public record Variant(String name, Strategy strategy, int m, boolean sequenceOnly) {

        public Variant(String name, Strategy strategy, int m) {
            this(name, strategy, m, false);
        }

        /** The sequence expert alone. */
        public static final String SEQUENCE = "sequence";

        /**
         * {@code adaptrec}, {@code similarity}, {@code static}, {@code none}, optionally suffixed
         * {@code -m<M>} (e.g. {@code adaptrec-m9}) to override the default M.
         */
        public static Variant parse(String name, int defaultM) {
            if (name.equals(SEQUENCE)) {
                return new Variant(SEQUENCE, Strategy.NONE, 0, true);
            }
            String base = name;
            int m = defaultM;
            int dash = name.lastIndexOf("-m");
            if (dash > 0 && name.substring(dash + 2).matches("\\d+")) {
                base = name.substring(0, dash);
                m = Integer.parseInt(name.substring(dash + 2));
            }
            Strategy s = switch (base) {
                case "adaptrec" -> Strategy.ADAPTIVE;
                case "similarity" -> Strategy.SIMILARITY;
                case "static" -> Strategy.STATIC;
                case "none" -> Strategy.NONE;
                default -> throw new IllegalArgumentException("unknown RecLM variant '" + name
                        + "'; allowed: adaptrec, similarity, static, none (optionally -m<M>), sequence");
            };
            if (m < 0 || m > 20) {
                throw new IllegalArgumentException("variant '" + name + "': M must be in [0, 20]");
            }
            return new Variant(name, s, s == Strategy.NONE ? 0 : m);
        }

        public static boolean isRecLM(String name) {
            return name.equals(SEQUENCE) || name.matches("(adaptrec|similarity|static|none)(-m\\d+)?");
        }
    }

    private final class VariantRecommender implements Recommender, AutoCloseable {
        private final Variant v;
        private final java.util.concurrent.atomic.AtomicInteger open;
        private boolean closed;

        VariantRecommender(Variant v, java.util.concurrent.atomic.AtomicInteger open) {
            this.v = v;
            this.open = open;
        }

        @Override
        public String name() {
            return v.name();
        }

        @Override
        public float[][] score(List<Query> queries) {
            if (v.sequenceOnly()) {
                return core.sequenceOnly(queries.stream()
                        .map(q -> new AdaptRec.Query(q.userId(), q.history(), q.candidates(), q.asOfMillis())).toList());
            }
            return RecLMSystem.this.score(queries, v.strategy(), v.m());
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                if (open.decrementAndGet() == 0) {
                    RecLMSystem.this.close();
                }
            }
        }
    }

    /** Catalogue without text, for models that must not see titles (SASRec). */
    static List<Dataset.Item> idOnly(List<Dataset.Item> catalogue) {
        return catalogue.stream().map(i -> new Dataset.Item(i.itemId(), "", List.of())).toList();
    }

    @Override
    public void close() {
        lm.close();
    }
}
