package io.adaptrec.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RecLM: a small decoder-only transformer (pre-LN GPT) over item and word tokens, with LoRA
 * adapters. Deliberately one file, read top to bottom: parameters, then the forward pass in
 * paper order (embed -> N x [norm -> causal attention -> norm -> MLP] -> norm), then the LM head.
 *
 * <p>Forward input: {@code ids (B, T)} int64, right-padded (the causal mask makes padding after
 * a position invisible to it, so no padding mask is needed). Forward output:
 * {@code [hidden (B, T, D), E (V, D), itemBias (I)]}. {@code E} is the effective token table
 * (text-aware item rows) used both as input embedding and as the tied LM head; returning it lets
 * callers score only the rows they need (all items, or just 20 candidates) without a full V-way
 * projection at every position.
 */
public final class RecLM extends AbstractBlock {

    /** Name fragment that marks adapter parameters; freezing and adapter I/O select by it. */
    public static final String LORA = "lora";
    /** Name of the projection of pretrained item text vectors (present when textDim is above 0). */
    public static final String TEXT_PROJ = "text_proj";
    private static final String[] ATTN = {"q", "k", "v", "o"};

    private final RecLMConfig cfg;
    private final int vocab;       // V
    private final int itemStart;   // items occupy token ids [itemStart, itemEnd)
    private final int itemEnd;
    private final long[] wordIdx;  // (I, K) word tokens of each item, PAD where absent
    private final float[] wordW;   // (I, K) 1/count for present words, 0 for PAD
    private final int wordsPerItem;
    private final float[] itemVectors; // (I, textDim) pretrained text vectors, row-major; empty when textDim = 0
    private volatile boolean loraEnabled;

    private final Parameter wte;     // (V, D) token embeddings, also the tied LM head
    private final Parameter wpe;     // (maxLen, D) learned positions
    private final Parameter itemBias; // (I) LM-head bias over items: the popularity prior
    private final Parameter textProj; // (D, textDim) projection of the pretrained text vectors, or null
    private final Parameter lnfG;    // (D)
    private final Parameter lnfB;    // (D)
    private final List<Map<String, Parameter>> layerParams = new ArrayList<>();

    public RecLM(RecLMConfig cfg, Vocabulary vocabulary) {
        this.cfg = cfg;
        this.vocab = vocabulary.size();
        this.itemStart = vocabulary.itemStart();
        this.itemEnd = vocabulary.itemEnd();
        int items = itemEnd - itemStart;
        int k = 1;
        for (int i = 0; i < items; i++) {
            k = Math.max(k, vocabulary.itemWords(i).length);
        }
        this.wordsPerItem = k;
        this.wordIdx = new long[items * k];
        this.wordW = new float[items * k];
        for (int i = 0; i < items; i++) {
            int[] w = vocabulary.itemWords(i);
            for (int j = 0; j < w.length; j++) {
                wordIdx[i * k + j] = w[j];
                wordW[i * k + j] = 1f / w.length;
            }
        }
        int d = cfg.dModel();
        int td = cfg.textDim();
        if (td > 0 && vocabulary.itemVectorDim() != td) {
            throw new IllegalArgumentException("the model takes item text vectors of " + td + " dimensions, the vocabulary has "
                    + (vocabulary.itemVectorDim() == 0 ? "none" : vocabulary.itemVectorDim() + ""));
        }
        this.itemVectors = new float[td > 0 ? items * td : 0];
        for (int i = 0; td > 0 && i < items; i++) {
            System.arraycopy(vocabulary.itemVector(i), 0, itemVectors, i * td, td);
        }
        Initializer normal = new NormalInitializer(0.02f);
        wte = param("wte", new Shape(vocab, d), normal);
        // zero, as LoRA's B: a text-vector model starts as the same model without them and learns how much to use
        textProj = td > 0 ? param(TEXT_PROJ, new Shape(d, td), Initializer.ZEROS) : null;
        wpe = param("wpe", new Shape(cfg.maxLen(), d), normal);
        itemBias = param("item_bias", new Shape(items), Initializer.ZEROS);
        for (int l = 0; l < cfg.layers(); l++) {
            Map<String, Parameter> p = new LinkedHashMap<>();
            String n = "l" + l + "_";
            p.put("ln1_g", param(n + "ln1_g", new Shape(d), Initializer.ONES));
            p.put("ln1_b", param(n + "ln1_b", new Shape(d), Initializer.ZEROS));
            for (String proj : ATTN) {
                linear(p, n, proj, d, d, true);
            }
            p.put("ln2_g", param(n + "ln2_g", new Shape(d), Initializer.ONES));
            p.put("ln2_b", param(n + "ln2_b", new Shape(d), Initializer.ZEROS));
            linear(p, n, "fc1", d, 4 * d, cfg.loraMlp());
            linear(p, n, "fc2", 4 * d, d, cfg.loraMlp());
            layerParams.add(p);
        }
        lnfG = param("lnf_g", new Shape(d), Initializer.ONES);
        lnfB = param("lnf_b", new Shape(d), Initializer.ZEROS);
    }

    private Parameter param(String name, Shape shape, Initializer init) {
        return addParameter(Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT)
                .optShape(shape).optInitializer(init).build());
    }

    /** W (out, in), b (out) and, when adapted, LoRA A (r, in) ~ N(0, 1/r) and B (out, r) = 0. */
    private void linear(Map<String, Parameter> p, String prefix, String name, int in, int out, boolean lora) {
        p.put(name + "_w", param(prefix + name + "_w", new Shape(out, in), new NormalInitializer(0.02f)));
        p.put(name + "_b", param(prefix + name + "_b", new Shape(out), Initializer.ZEROS));
        if (lora && cfg.loraRank() > 0) {
            int r = cfg.loraRank();
            // B = 0 makes a fresh adapter an exact no-op (LoRA, Hu et al. 2021, section 4.1).
            p.put(name + "_A", param(prefix + name + "_" + LORA + "_A", new Shape(r, in),
                    new NormalInitializer((float) (1.0 / Math.sqrt(in)))));
            p.put(name + "_B", param(prefix + name + "_" + LORA + "_B", new Shape(out, r), Initializer.ZEROS));
        }
    }

    public RecLMConfig config() {
        return cfg;
    }

    public int itemStart() {
        return itemStart;
    }

    public int itemEnd() {
        return itemEnd;
    }

    /** Turns the adapter path on or off; with B = 0 both settings give identical outputs. */
    public void setLoraEnabled(boolean on) {
        this.loraEnabled = on && cfg.loraRank() > 0;
    }

    public boolean isLoraEnabled() {
        return loraEnabled;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        Shape in = inputs[0];
        return new Shape[] {
            new Shape(in.get(0), in.get(1), cfg.dModel()),
            new Shape(vocab, cfg.dModel()),
            new Shape(itemEnd - itemStart)
        };
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        NDArray ids = inputs.head();
        var dev = ids.getDevice();
        long b = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        if (t > cfg.maxLen()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens exceeds maxLen " + cfg.maxLen());
        }
        int d = cfg.dModel();
        int h = cfg.heads();
        int hd = d / h;

        // Every intermediate must belong to the caller's (per-step) manager. DJL attaches an op's
        // result to the manager of its first operand, so a parameter must never come first:
        // otherwise each step leaks activations into the model's manager (notes/djl-probe.md, 1).
        NDManager m = ids.getManager();
        int items = itemEnd - itemStart;

        // Token table with text-aware item rows: E[item] = wte[item] + mean(wte[title/genre words]) (+ P v[item])
        // (ARCHITECTURE.md section 6), so an item nobody has interacted with still has a usable vector.
        NDArray table = ps.getValue(wte, dev, training);
        NDArray e;
        if (cfg.textAware()) {
            NDArray words = Embedding.embedding(m.create(wordIdx, new Shape(items, wordsPerItem)), table,
                    SparseFormat.DENSE).head();                                                 // (I, K, D)
            NDArray text = words.mul(m.create(wordW, new Shape(items, wordsPerItem, 1))).sum(new int[] {1});
            if (textProj != null) {   // + P v[item]: the pretrained text vector, projected into the model's space
                text = text.add(Linear.linear(m.create(itemVectors, new Shape(items, cfg.textDim())),
                        ps.getValue(textProj, dev, training)).head());
            }
            NDList parts = new NDList(m.zeros(new Shape(itemStart, d)), text);
            if (itemEnd < vocab) {
                parts.add(m.zeros(new Shape(vocab - itemEnd, d)));
            }
            e = NDArrays.concat(parts, 0).add(table);                                          // (V, D)
        } else {
            e = m.zeros(new Shape(vocab, d)).add(table);
        }
        NDArray bias = m.zeros(new Shape(items)).add(ps.getValue(itemBias, dev, training));
        NDArray x = Embedding.embedding(ids, e, SparseFormat.DENSE).head()                      // (B, T, D)
                .add(Embedding.embedding(m.arange(0L, t, 1L, DataType.INT64), ps.getValue(wpe, dev, training),
                        SparseFormat.DENSE).head());
        x = drop(x, training);

        NDArray pos = m.arange((int) t);
        NDArray causal = pos.reshape(1, t).gt(pos.reshape(t, 1)).toType(DataType.FLOAT32, false).mul(-1e9f);
        float scale = (float) (1.0 / Math.sqrt(hd));
        Shape dShape = new Shape(d);

        for (Map<String, Parameter> p : layerParams) {
            // causal multi-head self-attention (pre-LN)
            NDArray n1 = LayerNorm.layerNorm(x, dShape, ps.getValue(p.get("ln1_g"), dev, training),
                    ps.getValue(p.get("ln1_b"), dev, training), 1e-5f).head();
            NDArray q = proj(ps, p, "q", n1, training).reshape(b, t, h, hd).transpose(0, 2, 1, 3);
            NDArray k = proj(ps, p, "k", n1, training).reshape(b, t, h, hd).transpose(0, 2, 3, 1);
            NDArray v = proj(ps, p, "v", n1, training).reshape(b, t, h, hd).transpose(0, 2, 1, 3);
            NDArray att = drop(q.matMul(k).mul(scale).add(causal).softmax(-1), training);    // (B, H, T, T)
            NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, d);
            x = x.add(drop(proj(ps, p, "o", y, training), training));
            // position-wise MLP (pre-LN, GELU, 4x)
            NDArray n2 = LayerNorm.layerNorm(x, dShape, ps.getValue(p.get("ln2_g"), dev, training),
                    ps.getValue(p.get("ln2_b"), dev, training), 1e-5f).head();
            NDArray f = Activation.gelu(proj(ps, p, "fc1", n2, training));
            x = x.add(drop(proj(ps, p, "fc2", f, training), training));
        }
        NDArray hidden = LayerNorm.layerNorm(x, dShape, ps.getValue(lnfG, dev, training),
                ps.getValue(lnfB, dev, training), 1e-5f).head();
        return new NDList(hidden, e, bias);
    }

    /** y = x W^T + b, plus the LoRA update (alpha / r) (x A^T) B^T when adapters are on. */
    private NDArray proj(ParameterStore ps, Map<String, Parameter> p, String name, NDArray x, boolean training) {
        var dev = x.getDevice();
        NDArray y = Linear.linear(x, ps.getValue(p.get(name + "_w"), dev, training),
                ps.getValue(p.get(name + "_b"), dev, training)).head();
        Parameter a = p.get(name + "_A");
        // A pinned arm always takes the adapter path, whatever the in-place adapter's switch says.
        if ((loraEnabled || ps instanceof AdapterParameters) && a != null) {
            NDArray down = Linear.linear(x, ps.getValue(a, dev, training)).head();
            NDArray up = Linear.linear(down, ps.getValue(p.get(name + "_B"), dev, training)).head();
            y = y.add(up.mul(cfg.loraAlpha() / cfg.loraRank()));
        }
        return y;
    }

    /**
     * Reads one adapter's own arrays for the LoRA parameters and the shared, frozen base for all
     * others: how several adapters are served at once over one base without copying it. Keyed by
     * parameter name ({@code l0_q_lora_A} ...); inference only (nothing here records gradients).
     */
    public static final class AdapterParameters extends ParameterStore {
        private final Map<String, NDArray> lora;

        public AdapterParameters(NDManager manager, Map<String, NDArray> lora) {
            super(manager, false);
            this.lora = lora;
        }

        @Override
        public NDArray getValue(Parameter parameter, ai.djl.Device device, boolean training) {
            NDArray a = parameter == null ? null : lora.get(parameter.getName());
            return a != null ? a : super.getValue(parameter, device, training);
        }
    }

    private NDArray drop(NDArray x, boolean training) {
        return training && cfg.dropout() > 0 ? Dropout.dropout(x, cfg.dropout(), true).head() : x;
    }

    // ---- LM head: tied to the effective token table, restricted to item rows ----

    /** Logits over every catalogue item: {@code hidden (..., D) -> (..., I)}. */
    public static NDArray itemLogits(NDList out, NDArray hidden, int itemStart, int itemEnd) {
        NDArray items = out.get(1).get(itemStart + ":" + itemEnd);
        return hidden.matMul(items.transpose()).add(out.get(2));
    }

    /**
     * Logits of chosen item tokens only: {@code hidden (N, D)}, {@code tokens (N, C)} item token
     * ids -> {@code (N, C)}. This is constrained decoding at the answer slot: only the candidates
     * are ever scored, so every answer is a valid candidate (ValidRatio 1.0 by construction).
     */
    public static NDArray tokenLogits(NDList out, NDArray hidden, NDArray tokens, int itemStart) {
        NDArray emb = Embedding.embedding(tokens, out.get(1), SparseFormat.DENSE).head();   // (N, C, D)
        NDArray dot = emb.matMul(hidden.expandDims(2)).squeeze(2);                           // (N, C)
        NDArray bias = Embedding.embedding(tokens.sub(itemStart), out.get(2).expandDims(1),
                SparseFormat.DENSE).head().squeeze(2);
        return dot.add(bias);
    }
}
