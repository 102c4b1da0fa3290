package io.adaptrec.worker.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * A live RecLM: the DJL model, its vocabulary and batched, constrained scoring.
 *
 * <p>Native memory is owned by NDManagers, not the GC (notes/djl-probe.md, gotcha 1): every call
 * works inside a sub-manager closed before it returns, so scoring thousands of prompts does not
 * grow the process. Scoring takes the read side of the adapter lock; adapter swaps take the write
 * side, so a batch never sees half of one adapter and half of another, and {@link #withAdapter}
 * extends that guarantee over several calls (all stages of one request).
 *
 * <p>Besides that in-place adapter, any number of extra adapters ("arms") can be loaded at once
 * over the one frozen base ({@link #addAdapter}). Each arm is its own set of LoRA arrays, owned by
 * its own sub-manager; the base is never copied. {@link #withAdapter(String, Function)} pins one
 * arm for the calling thread: a thread-local, so every scoring call and {@link #adapterGeneration()}
 * made by that thread inside the body uses the arm, and code below (the stage-2 selector) needs no
 * adapter argument. A body must therefore not hand scoring work to other threads.
 */
public final class LanguageModel implements AutoCloseable {

    public static final String ENGINE = "PyTorch";
    /** {@link #adapterVersion()} of a model with no adapter installed (B = 0: the base alone). */
    public static final String BASE = "base";
    static final String TRAINING = "training";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BATCH = 64;

    private final RecLMConfig cfg;
    private final Vocabulary vocab;
    private final Model model;
    private final RecLM net;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Source of every generation number, in place or arm, so that no two adapters share one. */
    private final AtomicLong generations = new AtomicLong();
    private volatile long inPlaceGeneration;
    private volatile String adapterVersion = BASE;
    private final Map<String, Arm> arms = new ConcurrentHashMap<>();
    /** The arm pinned by {@link #withAdapter(String, Function)} on this thread; null: the in-place adapter. */
    private final ThreadLocal<Arm> pinned = new ThreadLocal<>();
    /** The exported engines when the engine is onnxruntime or tensorrt; null: PyTorch only. */
    private volatile OnnxSessions onnx;
    /** The frozen stage-A model whose sequence reading is fused into every ranking ({@link #sequenceExpert}), or null. */
    private volatile LanguageModel sequenceExpert;
    private volatile float sequenceWeight;

    /**
     * An extra adapter: its LoRA arrays by parameter name, owned by {@code manager}. Requests hold
     * {@code inUse}'s read side while pinned to it; removal takes the write side, then frees it.
     */
    private static final class Arm {
        final String version;
        final long generation;
        final NDManager manager;
        final Map<String, NDArray> lora;
        final long bytes;
        final ReentrantReadWriteLock inUse = new ReentrantReadWriteLock();
        boolean removed;   // written under inUse's write side

        Arm(String version, long generation, NDManager manager, Map<String, NDArray> lora, long bytes) {
            this.version = version;
            this.generation = generation;
            this.manager = manager;
            this.lora = lora;
            this.bytes = bytes;
        }
    }

    private LanguageModel(RecLMConfig cfg, Vocabulary vocab, int seed) {
        this.cfg = cfg;
        this.vocab = vocab;
        // Seeding the engine is what makes initialisation, dropout and therefore whole runs
        // reproducible (notes/djl-probe.md, gotcha 5).
        Engine.getEngine(ENGINE).setRandomSeed(seed);
        this.model = Model.newInstance("reclm", Device.cpu(), ENGINE);
        this.net = new RecLM(cfg, vocab);
        model.setBlock(net);
        net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 8));
        // Adapters stay frozen and off until LoRA fine-tuning turns them on.
        net.freezeParameters(true, p -> p.getName().contains(RecLM.LORA));
    }

    public static LanguageModel create(RecLMConfig cfg, Vocabulary vocab, int seed) {
        return new LanguageModel(cfg, vocab, seed);
    }

    public RecLMConfig config() {
        return cfg;
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    public Model djlModel() {
        return model;
    }

    public RecLM net() {
        return net;
    }

    /**
     * Changes whenever adapter weights change (training step, load, reset); caches key on it.
     * Inside {@link #withAdapter(String, Function)} it is the pinned arm's own generation, drawn
     * from the same counter when the arm was added, so caches never mix two adapters' results.
     */
    public long adapterGeneration() {
        Arm arm = pinned.get();
        return arm != null ? arm.generation : inPlaceGeneration;
    }

    /**
     * Name of the in-place adapter: a manifest version, {@link #BASE}, or "training". It stays the
     * in-place adapter's name inside an arm's body; the snapshot handed to the body names the arm.
     */
    public String adapterVersion() {
        return adapterVersion;
    }

    void adapterChanged() {
        inPlaceGeneration = generations.incrementAndGet();
    }

    /** The adapter one request is served with: its name and generation, fixed while the snapshot is held. */
    public record AdapterSnapshot(String version, long generation) {}

    /**
     * Runs {@code body} with the current adapter pinned: no swap can happen until it returns, so
     * every stage of one request (selection and recommendation) scores with the same adapter, and
     * the snapshot handed to {@code body} names it. Swaps wait for running bodies to finish.
     */
    public <T> T withAdapter(Function<AdapterSnapshot, T> body) {
        Arm outer = pinned.get();
        pinned.remove();   // an in-place body nested in an arm's body scores with the in-place adapter
        lock.readLock().lock();
        try {
            return body.apply(new AdapterSnapshot(adapterVersion, inPlaceGeneration));
        } finally {
            lock.readLock().unlock();
            repin(outer);
        }
    }

    /**
     * Runs {@code body} with adapter {@code version} pinned for this thread: the in-place adapter
     * when {@code version} is null or equals {@link #adapterVersion()}, otherwise the arm of that
     * name. The arm cannot be removed until {@code body} returns.
     *
     * @throws IllegalArgumentException naming the loaded versions if {@code version} is not loaded
     */
    public <T> T withAdapter(String version, Function<AdapterSnapshot, T> body) {
        if (version == null) {
            return withAdapter(body);
        }
        lock.readLock().lock();   // so that the in-place adapter cannot change its name under the check
        try {
            if (version.equals(adapterVersion)) {
                return withAdapter(body);
            }
        } finally {
            lock.readLock().unlock();
        }
        Arm arm = arms.get(version);
        if (arm != null) {
            arm.inUse.readLock().lock();
            if (arm.removed) {   // removed between the lookup and the lock
                arm.inUse.readLock().unlock();
                arm = null;
            }
        }
        if (arm == null) {
            throw new IllegalArgumentException("adapter '" + version + "' is not loaded; loaded: " + loadedAdapters());
        }
        try {
            return pinnedTo(arm, body);
        } finally {
            arm.inUse.readLock().unlock();
        }
    }

    /**
     * Runs {@code body} pinned to {@code tensors} as a transient adapter that is neither listed nor
     * removable: how a candidate is probed before it is installed. The tensors are used as given
     * (not copied) and must stay open until {@code body} returns.
     *
     * @throws IllegalArgumentException if the tensors do not fit the model's LoRA parameters
     */
    public <T> T withTransientAdapter(String name, Map<String, NDArray> tensors, Function<AdapterSnapshot, T> body) {
        checkFits(name, tensors);
        return pinnedTo(new Arm(name, generations.incrementAndGet(), null, Map.copyOf(tensors), 0), body);
    }

    private <T> T pinnedTo(Arm arm, Function<AdapterSnapshot, T> body) {
        Arm outer = pinned.get();
        pinned.set(arm);
        try {
            return body.apply(new AdapterSnapshot(arm.version, arm.generation));
        } finally {
            repin(outer);
        }
    }

    private void repin(Arm outer) {
        if (outer == null) {
            pinned.remove();
        } else {
            pinned.set(outer);
        }
    }

    /**
     * Loads {@code tensors} (every LoRA parameter by name, e.g. {@code l0_q_lora_A}) as the extra
     * adapter {@code version}, next to the in-place one. The arrays are copied into the arm's own
     * sub-manager, so the caller keeps ownership of its inputs. Verification is the caller's job
     * ({@code adapters.AdapterRegistry} verifies, then adds).
     *
     * @throws IllegalArgumentException if {@code version} is already loaded or the tensors do not fit
     */
    public void addAdapter(String version, Map<String, NDArray> tensors) {
        Objects.requireNonNull(version, "version");
        checkFits(version, tensors);
        if (version.equals(adapterVersion)) {
            throw new IllegalArgumentException("adapter '" + version + "' is already the in-place adapter");
        }
        NDManager own = model.getNDManager().newSubManager();
        try {
            Map<String, NDArray> copy = new LinkedHashMap<>();
            long bytes = 0;
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                NDArray src = e.getValue();
                NDArray a = own.create(src.toByteBuffer(), src.getShape(), src.getDataType());
                a.setName(e.getKey());
                copy.put(e.getKey(), a);
                bytes += a.size() * a.getDataType().getNumOfBytes();
            }
            Arm arm = new Arm(version, generations.incrementAndGet(), own, Map.copyOf(copy), bytes);
            if (arms.putIfAbsent(version, arm) != null) {
                throw new IllegalArgumentException("adapter '" + version + "' is already loaded; remove it first");
            }
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Unloads arm {@code version}: waits for the requests pinned to it to finish, then frees its
     * arrays. New requests for it fail from the moment this is called.
     *
     * @throws IllegalArgumentException if it is not a loaded arm (the in-place adapter is swapped, not removed)
     * @throws IllegalStateException    if called from a body pinned to it (it would wait for itself)
     */
    public void removeAdapter(String version) {
        Arm arm = arms.get(version);
        if (arm == null) {
            throw new IllegalArgumentException(version != null && version.equals(adapterVersion)
                    ? "adapter '" + version + "' is the in-place adapter: swap or reset it instead"
                    : "adapter '" + version + "' is not loaded; loaded: " + loadedAdapters());
        }
        if (arm.inUse.getReadHoldCount() > 0) {
            throw new IllegalStateException("adapter '" + version + "' cannot be removed by a request pinned to it");
        }
        arms.remove(version, arm);
        arm.inUse.writeLock().lock();
        try {
            if (!arm.removed) {
                arm.removed = true;
                arm.manager.close();
            }
        } finally {
            arm.inUse.writeLock().unlock();
        }
        retireEngines();
    }

    /** The in-place adapter's version first, then every arm's, sorted. */
    public Set<String> loadedAdapters() {
        Set<String> out = new java.util.LinkedHashSet<>();
        out.add(adapterVersion);
        out.addAll(new TreeSet<>(arms.keySet()));
        return out;
    }

    /** Bytes of the arrays adapter {@code version} holds (what one more arm costs; the base is shared). */
    public long adapterBytes(String version) {
        Arm arm = arms.get(version);
        if (arm != null) {
            return arm.bytes;
        }
        if (version != null && version.equals(adapterVersion)) {
            long bytes = 0;
            for (Parameter p : parameters(true).values()) {
                bytes += p.getArray().size() * p.getArray().getDataType().getNumOfBytes();
            }
            return bytes;
        }
        throw new IllegalArgumentException("adapter '" + version + "' is not loaded; loaded: " + loadedAdapters());
    }

    /** Names, shapes and types of {@code tensors} must be exactly the model's LoRA parameters. */
    private void checkFits(String version, Map<String, NDArray> tensors) {
        Map<String, Parameter> lora = parameters(true);
        if (lora.isEmpty()) {
            throw new IllegalStateException("model has no LoRA parameters (loraRank = 0)");
        }
        if (!tensors.keySet().equals(lora.keySet())) {
            Set<String> missing = new TreeSet<>(lora.keySet());
            missing.removeAll(tensors.keySet());
            Set<String> unexpected = new TreeSet<>(tensors.keySet());
            unexpected.removeAll(lora.keySet());
            throw new IllegalArgumentException("adapter '" + version + "' does not fit this model: missing tensors "
                    + missing + ", unexpected tensors " + unexpected);
        }
        for (Map.Entry<String, Parameter> e : lora.entrySet()) {
            NDArray want = e.getValue().getArray();
            NDArray got = tensors.get(e.getKey());
            if (!got.getShape().equals(want.getShape()) || got.getDataType() != want.getDataType()) {
                throw new IllegalArgumentException("adapter '" + version + "': tensor '" + e.getKey() + "' is "
                        + got.getDataType() + got.getShape() + " but the model expects " + want.getDataType()
                        + want.getShape());
            }
        }
    }

    /** The parameter store of one forward pass: the pinned arm's LoRA arrays, else the net's own. */
    private ParameterStore parameterStore(NDManager sub) {
        Arm arm = pinned.get();
        return arm == null ? new ParameterStore(sub, false) : new RecLM.AdapterParameters(sub, arm.lora);
    }

    /**
     * Replaces the adapter weights, in place and atomically for concurrent scoring: {@code install}
     * runs under the write lock, then LoRA is switched on and the model is known as {@code version}.
     */
    void swapAdapter(String version, IoAction install) throws IOException {
        lock.writeLock().lock();
        try {
            install.run();
            net.setLoraEnabled(true);
            adapterVersion = version;
            adapterChanged();
            retireEngines();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Marks the adapter as being trained (stage C), so nothing mistakes it for a published one. */
    void adapterTraining() {
        lock.writeLock().lock();
        try {
            adapterVersion = TRAINING;
            adapterChanged();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Names the live adapter after it was saved as {@code version} (the weights are unchanged). */
    void adapterSaved(String version) {
        lock.writeLock().lock();
        try {
            adapterVersion = version;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** An I/O step run under the adapter write lock. */
    interface IoAction {
        void run() throws IOException;
    }

    /** Parameters by name; adapters are those whose name contains {@link RecLM#LORA}. */
    public Map<String, Parameter> parameters(boolean adapters) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Parameter p : net.getParameters().values()) {
            if (p.getName().contains(RecLM.LORA) == adapters) {
                out.put(p.getName(), p);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- scoring

    /**
     * Constrained scoring (AdaptRec stage 3): for each prompt, the next-token distribution at the
     * answer slot restricted to that prompt's candidate items, as log-probabilities in the
     * candidates' order. A candidate the vocabulary does not know is ranked last.
     */
    public float[][] scoreCandidates(List<Prompt> prompts, List<long[]> candidates) {
        return scoreCandidates(prompts, candidates, Map.of());
    }

    /**
     * What this model reads of an item added to the catalogue after training: its known words and, for a
     * model with pretrained text vectors, the encoder's vector of its title and genres (encoded here, cached
     * per text).
     */
    public NewItem newItem(io.adaptrec.worker.data.Dataset.Item item) {
        float[] vector = cfg.textDim() > 0 ? ItemTextEncoder.encode(List.of(ItemTextEncoder.text(item)))[0] : null;
        return new NewItem(vocab.wordTokens(item), vector);
    }

    /**
     * As {@link #scoreCandidates(List, List)}, where {@code newItems} describes items added after training
     * ({@link #newItem}): such an item is scored through the text part of the text-aware item row alone,
     * E = mean(wte[words]) (+ the projected text vector), with the mean item bias (it has no ID row and no
     * popularity of its own yet).
     */
    public float[][] scoreCandidates(List<Prompt> prompts, List<long[]> candidates, Map<Long, NewItem> newItems) {
        float[][] out = new float[prompts.size()][];
        forEachBatch(prompts, false, rows -> {
            // Rows may have different candidate counts (full-catalogue ranking): pad each row with
            // its first candidate and mask the padding out of the softmax.
            int c = 1;
            for (int r : rows) {
                c = Math.max(c, candidates.get(r).length);
            }
            long[] toks = new long[rows.length * c];
            float[] mask = new float[rows.length * c];
            List<Scorer.Fresh> fresh = new ArrayList<>();   // new items: (row in batch, column, text)
            for (int i = 0; i < rows.length; i++) {
                long[] cand = candidates.get(rows[i]);
                if (cand.length == 0) {
                    throw new IllegalArgumentException("query " + rows[i] + " has no candidates");
                }
                for (int j = 0; j < c; j++) {
                    int tok = vocab.itemToken(cand[j < cand.length ? j : 0]);
                    NewItem item = tok == Vocabulary.UNK && j < cand.length ? newItems.get(cand[j]) : null;
                    boolean readable = item != null && item.scorable();
                    if (readable) {
                        fresh.add(new Scorer.Fresh(i, j, item));
                    }
                    // an item the vocabulary has never seen, without text the model reads, cannot be scored: rank it last
                    boolean valid = j < cand.length && (tok != Vocabulary.UNK || readable);
                    toks[i * c + j] = tok == Vocabulary.UNK ? vocab.itemStart() : tok;
                    mask[i * c + j] = valid ? 0f : -1e30f;
                }
            }
            return new Scorer.Ask(toks, c, fresh, mask);
        }, (rows, ask, scores) -> {
            int c = ask.width();
            for (int i = 0; i < rows.length; i++) {
                out[rows[i]] = Scorer.logSoftmax(scores.candLogits(), ask.mask(), i * c, c,
                        candidates.get(rows[i]).length);
            }
        });
        return out;
    }

    /** log p(item) at each prompt's answer slot under the full item softmax (stage 2 judgement). */
    public float[] answerLogProb(List<Prompt> prompts, long[] items) {
        float[] out = new float[prompts.size()];
        forEachBatch(prompts, true, rows -> {
            long[] toks = new long[rows.length];
            for (int i = 0; i < rows.length; i++) {
                int tok = vocab.itemToken(items[rows[i]]);
                toks[i] = tok == Vocabulary.UNK ? vocab.itemStart() : tok;
            }
            return new Scorer.Ask(toks, 1, List.of(), null);
        }, (rows, ask, scores) -> {
            for (int i = 0; i < rows.length; i++) {
                out[rows[i]] = vocab.itemToken(items[rows[i]]) == Vocabulary.UNK ? Float.NEGATIVE_INFINITY
                        : scores.candLogits()[i] - scores.itemLse()[i];
            }
        });
        return out;
    }

    private interface BatchBody {
        void accept(int[] rows, Scorer.Ask ask, Scorer.Scores scores);
    }

    /**
     * Runs the network on length-sorted batches: {@code ask} names each batch's candidates, the
     * engine scores them at every row's answer slot, {@code body} reads the scores.
     */
    private void forEachBatch(List<Prompt> prompts, boolean wantLse, Function<int[], Scorer.Ask> ask, BatchBody body) {
        if (prompts.isEmpty()) {
            return;
        }
        // Grad mode is per native thread; serving threads must not record autograd graphs.
        JniUtils.setGradMode(false);
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> prompts.get(i).tokens().length));
        lock.readLock().lock();
        try {
            Scorer scorer = scorer();
            for (int start = 0; start < order.length; start += BATCH) {
                int n = Math.min(BATCH, order.length - start);
                int[] rows = new int[n];
                int t = 1;
                for (int i = 0; i < n; i++) {
                    rows[i] = order[start + i];
                    t = Math.max(t, Math.min(cfg.maxLen(), prompts.get(rows[i]).tokens().length));
                }
                long[] ids = new long[n * t];
                long[] answer = new long[n];
                for (int i = 0; i < n; i++) {
                    int[] tok = prompts.get(rows[i]).tokens();
                    int skip = Math.max(0, tok.length - t);   // over-long prompts lose their oldest tokens
                    for (int j = skip; j < tok.length; j++) {
                        ids[i * t + j - skip] = tok[j];
                    }
                    answer[i] = tok.length - 1 - skip;
                }
                Scorer.Ask a = ask.apply(rows);
                body.accept(rows, a, scorer.score(new Scorer.Batch(n, t, ids, answer), a, wantLse));
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The engine this thread's batch runs on: ONNX Runtime when it serves every loaded adapter, else PyTorch. */
    private Scorer scorer() {
        Arm arm = pinned.get();
        OnnxSessions sessions = onnx;
        if (sessions != null && (arm == null || arm.manager != null)) {   // transient probes stay on PyTorch
            Scorer s = sessions.scorerFor(arm == null ? inPlaceGeneration : arm.generation);
            if (s != null) {
                return s;
            }
        }
        return pytorch;
    }

    /** The PyTorch engine: the Java-defined network itself, with the pinned arm's LoRA arrays. */
    private final Scorer pytorch = this::pytorchScore;

    private Scorer.Scores pytorchScore(Scorer.Batch batch, Scorer.Ask ask, boolean wantLse) {
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDList fwd = net.forward(parameterStore(sub),
                    new NDList(sub.create(batch.ids(), new Shape(batch.n(), batch.t()))), false);
            long[] flat = new long[batch.n()];
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (long) i * batch.t() + batch.answer()[i];
            }
            NDArray hidden = gatherRows(fwd.head().reshape(-1, cfg.dModel()), sub.create(flat));
            float[] logits = RecLM.tokenLogits(fwd, hidden, sub.create(ask.tokens(), new Shape(batch.n(), ask.width())),
                    vocab.itemStart()).toFloatArray();
            if (!ask.fresh().isEmpty()) {
                Parameter proj = cfg.textDim() > 0 ? net.getParameters().get(RecLM.TEXT_PROJ) : null;
                Scorer.newItemLogits(logits, ask, hidden.toFloatArray(), cfg.dModel(), fwd.get(2).mean().getFloat(),
                        fwd.get(1).toFloatArray(), proj == null ? null : proj.getArray().toFloatArray());
            }
            float[] lse = null;
            if (wantLse) {
                NDArray all = RecLM.itemLogits(fwd, hidden, vocab.itemStart(), vocab.itemEnd());
                lse = all.sub(all.logSoftmax(-1)).get(":, 0").toFloatArray();
            }
            return new Scorer.Scores(logits, lse);
        }
    }

    /** rows of {@code matrix (R, D)} at {@code index (N)} -> (N, D); differentiable. */
    static NDArray gatherRows(NDArray matrix, NDArray index) {
        return Embedding.embedding(index, matrix, SparseFormat.DENSE).head();
    }

    /**
     * The effective (text-aware) input embedding of every item, row-major {@code (I, D)}; stage 1
     * builds users' sequence embeddings from these.
     */
    public float[] itemEmbeddings() {
        JniUtils.setGradMode(false);
        lock.readLock().lock();
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDList fwd = net.forward(parameterStore(sub),
                    new NDList(sub.create(new long[] {Vocabulary.BOS}, new Shape(1, 1))), false);
            return fwd.get(1).get(vocab.itemStart() + ":" + vocab.itemEnd()).toFloatArray();
        } finally {
            lock.readLock().unlock();
        }
    }

    // ---------------------------------------------------------------- persistence

    /** Writes config.json, tokenizer.json, item-text.json and base.safetensors into {@code dir}. */
    public void saveBase(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), cfg);
        vocab.save(dir);
        writeSafetensors(dir.resolve("base.safetensors"), parameters(false));
    }

    /** Loads a directory written by {@link #saveBase}; adapters start as the zero (identity) adapter. */
    public static LanguageModel loadBase(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) {
            throw new IOException("not a RecLM model directory (no config.json): " + dir);
        }
        RecLMConfig cfg = JSON.readValue(cfgFile.toFile(), RecLMConfig.class);
        LanguageModel lm = new LanguageModel(cfg, Vocabulary.load(dir), 0);
        lm.readSafetensors(dir.resolve("base.safetensors"), lm.parameters(false), true);
        return lm;
    }

    static void writeSafetensors(Path file, Map<String, Parameter> params) throws IOException {
        NDList list = new NDList();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray a = e.getValue().getArray();
            a.setName(e.getKey());
            list.add(a);
        }
        try (OutputStream os = Files.newOutputStream(file)) {
            list.encode(os, NDList.Encoding.SAFETENSORS);
        }
    }

    /**
     * Copies the arrays of a safetensors file into the live parameters, in place (the parameter
     * store caches array objects, so replacing them would be ignored; notes/djl-probe.md section 3).
     */
    void readSafetensors(Path file, Map<String, Parameter> params, boolean requireAll) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            readSafetensors(file.toString(), in, params, requireAll);
        }
    }

    /** As above, from an encoded stream ({@code file} names it in errors). */
    void readSafetensors(String file, InputStream in, Map<String, Parameter> params, boolean requireAll)
            throws IOException {
        lock.writeLock().lock();
        try (NDManager tmp = model.getNDManager().newSubManager()) {
            List<String> seen = new ArrayList<>();
            for (NDArray a : NDList.decode(tmp, in)) {
                Parameter p = params.get(a.getName());
                if (p == null) {
                    throw new IOException(file + ": unexpected tensor '" + a.getName() + "'");
                }
                if (!p.getArray().getShape().equals(a.getShape())) {
                    throw new IOException(file + ": tensor '" + a.getName() + "' has shape " + a.getShape()
                            + " but the model expects " + p.getArray().getShape());
                }
                p.getArray().set(a.toByteBuffer());
                seen.add(a.getName());
                adapterChanged();
            }
            if (requireAll && seen.size() != params.size()) {
                List<String> missing = new ArrayList<>(params.keySet());
                missing.removeAll(seen);
                throw new IOException(file + ": missing tensors " + missing);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------- engines

    /**
     * Chooses the engine that scores prompts ({@link EngineOptions}). An exported engine builds one
     * session per served adapter in the background; until it serves all of them, scoring stays on
     * PyTorch. Exported engines serve a frozen base: the base arrays are copied once, at the first
     * build. Transient probes ({@link #withTransientAdapter}) and an adapter being trained always
     * score on PyTorch.
     */
    public void useEngine(EngineOptions engine) {
        OnnxSessions old;
        lock.writeLock().lock();
        try {
            old = onnx;
            onnx = engine.exported() ? new OnnxSessions(this, engine) : null;
        } finally {
            lock.writeLock().unlock();
        }
        if (old != null) {
            old.close();
        }
        LanguageModel expert = sequenceExpert;
        if (expert != null) {
            expert.useEngine(engine);
        }
    }

    /**
     * Starts the exported engines' builds for every served adapter and waits until they serve
     * (true), a build fails or {@code timeout} passes (false: scoring stays on PyTorch meanwhile).
     * True at once for PyTorch. For start-up and tools: serving itself never waits for a build.
     */
    public boolean awaitEngine(java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            OnnxSessions s = onnx;
            if (s == null) {
                return true;
            }
            lock.readLock().lock();
            try {
                s.scorerFor(inPlaceGeneration);
            } finally {
                lock.readLock().unlock();
            }
            if (s.servesAll()) {
                LanguageModel expert = sequenceExpert;
                return expert == null
                        || expert.awaitEngine(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            }
            if (s.failures() > 0 || System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
    }

    /**
     * Attaches the sequence expert: a model of the same vocabulary (the stage-A model this one was fine-tuned from,
     * frozen) whose next-item reading of the target's recent history {@link AdaptRec} adds, weighted {@code weight},
     * to this model's prompt reading. This model owns it from here on: it follows {@link #useEngine} and closes with it.
     */
    public void attachSequenceExpert(LanguageModel expert, float weight) {
        Objects.requireNonNull(expert, "expert");
        if (!(weight > 0 && weight <= 100)) {
            throw new IllegalArgumentException("sequence weight must be in (0, 100], got " + weight);
        }
        if (expert.vocab.size() != vocab.size() || expert.vocab.itemStart() != vocab.itemStart()
                || expert.vocab.itemEnd() != vocab.itemEnd()) {
            throw new IllegalArgumentException("the sequence expert's vocabulary (" + expert.vocab.size()
                    + " tokens) is not this model's (" + vocab.size() + ")");
        }
        expert.net.freezeParameters(true);
        OnnxSessions s = onnx;
        if (s != null) {
            expert.useEngine(s.engine());
        }
        LanguageModel old = sequenceExpert;
        sequenceExpert = expert;
        sequenceWeight = weight;
        if (old != null && old != expert) {
            old.close();
        }
    }

    /** The sequence expert ({@link #attachSequenceExpert}), or null when rankings are this model's prompt reading alone. */
    public LanguageModel sequenceExpert() {
        return sequenceExpert;
    }

    /** Weight of the sequence expert's reading in a ranking; 0 without one. */
    public float sequenceWeight() {
        return sequenceExpert == null ? 0f : sequenceWeight;
    }

    /** The configured engine. */
    public EngineOptions engine() {
        OnnxSessions s = onnx;
        return s == null ? EngineOptions.PYTORCH_CPU : s.engine();
    }

    /** The engine that scores now: {@link #ENGINE}, or OnnxRuntime once it serves every loaded adapter. */
    public String engineInUse() {
        OnnxSessions s = onnx;
        return s != null && s.servesAll() ? OnnxRuntimeScorer.ENGINE : ENGINE;
    }

    /** Exported engines built, and builds that failed (their adapters stay on PyTorch). */
    public long[] engineBuilds() {
        OnnxSessions s = onnx;
        return s == null ? new long[2] : new long[] {s.builds(), s.failures()};
    }

    /** An adapter that scoring serves: its name, generation, and a copy of its LoRA arrays (null once removed). */
    record Served(String version, long generation, java.util.function.Supplier<Map<String, float[]>> lora) {}

    /** The in-place adapter (unless it is being trained) and every arm. */
    List<Served> served() {
        List<Served> out = new ArrayList<>(arms.size() + 1);
        if (!TRAINING.equals(adapterVersion)) {
            out.add(new Served(adapterVersion, inPlaceGeneration, this::inPlaceLora));
        }
        for (Arm a : arms.values()) {
            out.add(new Served(a.version, a.generation, () -> armLora(a)));
        }
        return out;
    }

    /** The in-place adapter's arrays when it is switched on (else none: the base alone). */
    private Map<String, float[]> inPlaceLora() {
        lock.readLock().lock();
        try {
            Map<String, float[]> out = new LinkedHashMap<>();
            if (net.isLoraEnabled()) {
                parameters(true).forEach((name, p) -> out.put(name, p.getArray().toFloatArray()));
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    private static Map<String, float[]> armLora(Arm a) {
        a.inUse.readLock().lock();
        try {
            if (a.removed) {
                return null;
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            a.lora.forEach((name, arr) -> out.put(name, arr.toFloatArray()));
            return out;
        } finally {
            a.inUse.readLock().unlock();
        }
    }

    /** The base as plain arrays (what an export reads): effective token table, item bias, every base parameter. */
    public OnnxExport.BaseArrays baseArrays() {
        JniUtils.setGradMode(false);
        lock.readLock().lock();
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDList fwd = net.forward(new ParameterStore(sub, false),
                    new NDList(sub.create(new long[] {Vocabulary.BOS}, new Shape(1, 1))), false);
            Map<String, float[]> params = new LinkedHashMap<>();
            parameters(false).forEach((name, p) -> params.put(name, p.getArray().toFloatArray()));
            return new OnnxExport.BaseArrays(cfg, vocab.size(), vocab.itemStart(), vocab.itemEnd(),
                    fwd.get(1).toFloatArray(), fwd.get(2).toFloatArray(), params);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The ONNX model of the base with adapter {@code version} merged in (null: the in-place
     * adapter), as {@link OnnxExport} writes it; {@code int32Ids} declares int32 inputs.
     */
    public byte[] exportOnnx(String version, boolean int32Ids) {
        return withAdapter(version, snap -> {
            Arm arm = pinned.get();
            Map<String, float[]> lora = arm == null ? inPlaceLora() : armLora(arm);
            return OnnxExport.export(baseArrays(), lora, int32Ids, snap.version());
        });
    }

    /** Closes the exported engines of adapters no longer served (sessions are only used under the read lock). */
    private void retireEngines() {
        OnnxSessions s = onnx;
        // a caller inside a scoring body holds the read lock and could never take the write lock;
        // its stale sessions are then closed at the next install instead
        if (s != null && lock.getReadHoldCount() == 0) {
            underWriteLock(s::retireUnserved);
        }
    }

    void underWriteLock(Runnable r) {
        lock.writeLock().lock();
        try {
            r.run();
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        OnnxSessions s = onnx;
        if (s != null) {
            s.close();
        }
        LanguageModel expert = sequenceExpert;
        if (expert != null) {
            expert.close();
        }
        model.close();
    }
}
