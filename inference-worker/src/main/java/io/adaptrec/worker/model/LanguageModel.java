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
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A live RecLM: the DJL model, its vocabulary and batched, constrained scoring.
 *
 * <p>Native memory is owned by NDManagers, not the GC (notes/djl-probe.md, gotcha 1): every call
 * works inside a sub-manager closed before it returns, so scoring thousands of prompts does not
 * grow the process. Scoring takes the read side of the adapter lock; adapter swaps take the write
 * side, so a batch never sees half of one adapter and half of another, and {@link #withAdapter}
 * extends that guarantee over several calls (all stages of one request).
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
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final java.util.concurrent.atomic.AtomicLong adapterGeneration = new java.util.concurrent.atomic.AtomicLong();
    private volatile String adapterVersion = BASE;

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

    /** Changes whenever adapter weights change (training step, load, reset); caches key on it. */
    public long adapterGeneration() {
        return adapterGeneration.get();
    }

    /** Name of the adapter the model scores with: a manifest version, {@link #BASE}, or "training". */
    public String adapterVersion() {
        return adapterVersion;
    }

    void adapterChanged() {
        adapterGeneration.incrementAndGet();
    }

    /** The adapter one request is served with: its name and generation, fixed while the snapshot is held. */
    public record AdapterSnapshot(String version, long generation) {}

    /**
     * Runs {@code body} with the current adapter pinned: no swap can happen until it returns, so
     * every stage of one request (selection and recommendation) scores with the same adapter, and
     * the snapshot handed to {@code body} names it. Swaps wait for running bodies to finish.
     */
    public <T> T withAdapter(java.util.function.Function<AdapterSnapshot, T> body) {
        lock.readLock().lock();
        try {
            return body.apply(new AdapterSnapshot(adapterVersion, adapterGeneration.get()));
        } finally {
            lock.readLock().unlock();
        }
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
     * As {@link #scoreCandidates(List, List)}, where {@code newItemWords} gives the title/genre word
     * tokens ({@link Vocabulary#wordTokens}) of items added after training: such an item is scored
     * through the text part of the text-aware item embedding alone, E = mean(wte[words]), with the
     * mean item bias (it has no ID row and no popularity of its own yet).
     */
    public float[][] scoreCandidates(List<Prompt> prompts, List<long[]> candidates, Map<Long, int[]> newItemWords) {
        float[][] out = new float[prompts.size()][];
        forEachBatch(prompts, (rows, sub, hidden, fwd) -> {
            // Rows may have different candidate counts (full-catalogue ranking): pad each row with
            // its first candidate and mask the padding out of the softmax.
            int c = 1;
            for (int r : rows) {
                c = Math.max(c, candidates.get(r).length);
            }
            long[] toks = new long[rows.length * c];
            float[] mask = new float[rows.length * c];
            List<int[]> fresh = new ArrayList<>();   // (row in batch, column, words...) of new items
            for (int i = 0; i < rows.length; i++) {
                long[] cand = candidates.get(rows[i]);
                if (cand.length == 0) {
                    throw new IllegalArgumentException("query " + rows[i] + " has no candidates");
                }
                for (int j = 0; j < c; j++) {
                    int tok = vocab.itemToken(cand[j < cand.length ? j : 0]);
                    int[] words = tok == Vocabulary.UNK && j < cand.length ? newItemWords.get(cand[j]) : null;
                    if (words != null && words.length > 0) {
                        fresh.add(new int[] {i, j});
                        fresh.add(words);
                    }
                    // an item the vocabulary has never seen, without known words, cannot be scored: rank it last
                    boolean valid = j < cand.length && (tok != Vocabulary.UNK || words != null && words.length > 0);
                    toks[i * c + j] = tok == Vocabulary.UNK ? vocab.itemStart() : tok;
                    mask[i * c + j] = valid ? 0f : -1e30f;
                }
            }
            NDArray logits = RecLM.tokenLogits(fwd, hidden, sub.create(toks, new Shape(rows.length, c)),
                    vocab.itemStart());
            if (!fresh.isEmpty()) {
                logits = withNewItems(logits, fresh, hidden, fwd, sub, c);
            }
            float[] lp = logits.add(sub.create(mask, new Shape(rows.length, c))).logSoftmax(-1).toFloatArray();
            for (int i = 0; i < rows.length; i++) {
                out[rows[i]] = Arrays.copyOfRange(lp, i * c, i * c + candidates.get(rows[i]).length);
            }
        });
        return out;
    }

    /** Replaces the logits of new items ({@code fresh}: position, words, position, words ...) by text-only ones. */
    private NDArray withNewItems(NDArray logits, List<int[]> fresh, NDArray hidden, NDList fwd, NDManager sub, int c) {
        float[] h = hidden.toFloatArray();
        float[] l = logits.toFloatArray();
        float meanBias = fwd.get(2).mean().getFloat();
        int d = cfg.dModel();
        for (int f = 0; f < fresh.size(); f += 2) {
            int row = fresh.get(f)[0];
            int col = fresh.get(f)[1];
            int[] words = fresh.get(f + 1);
            long[] idx = Arrays.stream(words).asLongStream().toArray();
            float[] w = gatherRows(fwd.get(1), sub.create(idx)).toFloatArray();   // (W, D)
            double dot = 0;
            for (int k = 0; k < d; k++) {
                double e = 0;
                for (int x = 0; x < words.length; x++) {
                    e += w[x * d + k];
                }
                dot += e / words.length * h[row * d + k];
            }
            l[row * c + col] = (float) dot + meanBias;
        }
        return sub.create(l, logits.getShape());
    }

    /** log p(item) at each prompt's answer slot under the full item softmax (stage 2 judgement). */
    public float[] answerLogProb(List<Prompt> prompts, long[] items) {
        float[] out = new float[prompts.size()];
        forEachBatch(prompts, (rows, sub, hidden, fwd) -> {
            NDArray lsm = RecLM.itemLogits(fwd, hidden, vocab.itemStart(), vocab.itemEnd()).logSoftmax(-1);
            float[] all = lsm.toFloatArray();
            int n = vocab.itemCount();
            for (int i = 0; i < rows.length; i++) {
                int tok = vocab.itemToken(items[rows[i]]);
                out[rows[i]] = tok == Vocabulary.UNK ? Float.NEGATIVE_INFINITY
                        : all[i * n + tok - vocab.itemStart()];
            }
        });
        return out;
    }

    private interface BatchBody {
        void accept(int[] rows, NDManager sub, NDArray answerHidden, NDList forward);
    }

    /** Runs the network on length-sorted batches and hands over each row's answer-slot state. */
    private void forEachBatch(List<Prompt> prompts, BatchBody body) {
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
                    answer[i] = (long) i * t + tok.length - 1 - skip;
                }
                try (NDManager sub = model.getNDManager().newSubManager()) {
                    NDList fwd = net.forward(new ParameterStore(sub, false),
                            new NDList(sub.create(ids, new Shape(n, t))), false);
                    NDArray hidden = gatherRows(fwd.head().reshape(-1, cfg.dModel()), sub.create(answer));
                    body.accept(rows, sub, hidden, fwd);
                }
            }
        } finally {
            lock.readLock().unlock();
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
            NDList fwd = net.forward(new ParameterStore(sub, false),
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
        lock.writeLock().lock();
        try (NDManager tmp = model.getNDManager().newSubManager(); InputStream in = Files.newInputStream(file)) {
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

    @Override
    public void close() {
        model.close();
    }
}
