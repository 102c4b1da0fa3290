package io.adaptrec.worker.model;

import static io.adaptrec.worker.model.onnx.OnnxGraph.Attr.f;
import static io.adaptrec.worker.model.onnx.OnnxGraph.Attr.i;
import static io.adaptrec.worker.model.onnx.OnnxGraph.Attr.ints;

import io.adaptrec.worker.model.onnx.OnnxGraph;
import java.util.List;
import java.util.Map;

/**
 * RecLM as an ONNX graph, with an adapter merged into the base weights (W' = W + (alpha / r) B A),
 * so an engine that knows nothing of LoRA (ONNX Runtime, TensorRT) serves it at the base's cost.
 *
 * <p>The graph computes exactly what {@link RecLM#forwardInternal} and the scoring heads compute,
 * restricted to what serving reads:
 * <ul>
 *   <li>inputs {@code ids (batch, seq)}: right-padded token ids; {@code answer (batch, 1)}: each
 *       row's answer slot (position of its last prompt token); {@code candidates (batch, cand)}:
 *       item token ids to score at that slot. int64, or int32 with {@code int32Ids} (cast inside).</li>
 *   <li>outputs {@code cand_logits (batch, cand)}: E[c]·h + bias[c]; {@code item_lse (batch)}:
 *       log-sum-exp of the logits of every catalogue item (so log p(item) = logit - lse, stage 2);
 *       {@code hidden (batch, D)}: the answer slot's final state (new items are scored from it).</li>
 * </ul>
 * The effective token table E (text-aware item rows) does not depend on the adapter, so it is
 * exported as a constant. Batch and sequence axes are dynamic.
 */
public final class OnnxExport {

    /** Names of the graph's inputs and outputs, in order. */
    public static final List<String> INPUTS = List.of("ids", "answer", "candidates");
    public static final List<String> OUTPUTS = List.of("cand_logits", "item_lse", "hidden");

    private OnnxExport() {}

    /**
     * The plain arrays of a base model an export reads: copied out of native memory once, so
     * exports can run on any thread while the model serves.
     *
     * @param table  the effective token table E, row-major (V, D)
     * @param bias   the LM-head item bias (I)
     * @param params every base parameter by name ({@code wpe}, {@code l0_q_w}, ...), row-major
     */
    public record BaseArrays(RecLMConfig config, int vocab, int itemStart, int itemEnd, float[] table, float[] bias,
                             Map<String, float[]> params) {}

    /**
     * The ONNX model of {@code base} with {@code lora} (LoRA tensors by parameter name, row-major)
     * merged in; {@code lora} empty: the base alone.
     */
    public static byte[] export(BaseArrays base, Map<String, float[]> lora, boolean int32Ids, String version) {
        RecLMConfig cfg = base.config();
        int d = cfg.dModel();
        int h = cfg.heads();
        int hd = d / h;
        int v = base.vocab();
        int items = base.itemEnd() - base.itemStart();
        OnnxGraph g = new OnnxGraph("reclm");
        g.metadata("adaptrec.adapter", version);
        g.metadata("adaptrec.inputs", String.join(",", INPUTS));
        g.metadata("adaptrec.outputs", String.join(",", OUTPUTS));

        int idType = int32Ids ? OnnxGraph.INT32 : OnnxGraph.INT64;
        String ids = g.input("ids", idType, "batch", "seq");
        String answer = g.input("answer", idType, "batch", 1L);
        String cands = g.input("candidates", idType, "batch", "cand");
        if (int32Ids) {   // GatherND wants int64 indices; Gather takes either
            ids = g.node("Cast", ids, i("to", OnnxGraph.INT64));
            answer = g.node("Cast", answer, i("to", OnnxGraph.INT64));
            cands = g.node("Cast", cands, i("to", OnnxGraph.INT64));
        }

        String table = g.floats("E", base.table(), v, d);
        float[] vocabBias = new float[v];   // the item bias at item rows, 0 elsewhere (only items are ever scored)
        System.arraycopy(base.bias(), 0, vocabBias, base.itemStart(), items);
        String biasV = g.floats("bias_v", vocabBias, v);

        // embed: E[ids] + wpe[0..T)
        String zero = g.longs("zero", new long[] {0});
        String one = g.longs("one", new long[] {1});
        String t = g.node("Gather", g.node("Shape", ids), one, i("axis", 0));   // scalar T
        String pos = g.node("Range", List.of(zero, t, one));
        String x = g.node("Add", g.node("Gather", table, ids, i("axis", 0)),
                g.node("Gather", g.floats("wpe", base.params().get("wpe"), cfg.maxLen(), d), pos, i("axis", 0)));

        // causal mask: -1e9 where key position > query position
        String row = g.node("Unsqueeze", pos, g.longs("ax0", new long[] {0}, 1));
        String col = g.node("Unsqueeze", pos, g.longs("ax1", new long[] {1}, 1));
        String mask = g.node("Mul", g.node("Cast", g.node("Greater", row, col), i("to", OnnxGraph.FLOAT)),
                g.scalar("neg", -1e9f));
        String scale = g.scalar("scale", (float) (1.0 / Math.sqrt(hd)));
        String heads = g.longs("heads_shape", new long[] {0, 0, h, hd}, 4);
        String merged = g.longs("model_shape", new long[] {0, 0, d}, 3);

        for (int l = 0; l < cfg.layers(); l++) {
            String p = "l" + l + "_";
            String n1 = layerNorm(g, base, x, p + "ln1_g", p + "ln1_b", d);
            String q = g.node("Transpose", g.node("Reshape", linear(g, base, lora, n1, p + "q"), heads),
                    ints("perm", 0, 2, 1, 3));
            String k = g.node("Transpose", g.node("Reshape", linear(g, base, lora, n1, p + "k"), heads),
                    ints("perm", 0, 2, 3, 1));
            String val = g.node("Transpose", g.node("Reshape", linear(g, base, lora, n1, p + "v"), heads),
                    ints("perm", 0, 2, 1, 3));
            String att = g.node("Softmax", g.node("Add", g.node("Mul", g.node("MatMul", q, k), scale), mask),
                    i("axis", -1));
            String y = g.node("Reshape", g.node("Transpose", g.node("MatMul", att, val), ints("perm", 0, 2, 1, 3)),
                    merged);
            x = g.node("Add", x, linear(g, base, lora, y, p + "o"));
            String n2 = layerNorm(g, base, x, p + "ln2_g", p + "ln2_b", d);
            x = g.node("Add", x, linear(g, base, lora, gelu(g, linear(g, base, lora, n2, p + "fc1")), p + "fc2"));
        }
        // the answer slot of each row, then the final norm (per position, so gathering first is exact)
        String slot = g.node("GatherND", x, answer, i("batch_dims", 1));                     // (B, D)
        String hidden = layerNorm(g, base, slot, "lnf_g", "lnf_b", d);

        // candidates: E[c] . h + bias[c]
        String emb = g.node("Gather", table, cands, i("axis", 0));                            // (B, C, D)
        String dot = g.node("Squeeze", g.node("MatMul", emb, g.node("Unsqueeze", hidden, g.longs("ax2", new long[] {2}, 1))),
                g.longs("ax2s", new long[] {2}, 1));
        String candLogits = g.node("Add", dot, g.node("Gather", biasV, cands, i("axis", 0)));
        // log-normaliser over every catalogue item
        float[] itemsT = new float[d * items];   // E[items]^T (D, I)
        for (int it = 0; it < items; it++) {
            for (int c = 0; c < d; c++) {
                itemsT[c * items + it] = base.table()[(base.itemStart() + it) * d + c];
            }
        }
        String all = g.node("Add", g.node("MatMul", hidden, g.floats("items_t", itemsT, d, items)),
                g.floats("item_bias", base.bias(), items));
        String lse = g.node("ReduceLogSumExp", all, ints("axes", 1), i("keepdims", 0));

        g.output(candLogits, "cand_logits", OnnxGraph.FLOAT, "batch", "cand");
        g.output(lse, "item_lse", OnnxGraph.FLOAT, "batch");
        g.output(hidden, "hidden", OnnxGraph.FLOAT, "batch", (long) d);
        return g.toBytes("adaptrec", version);
    }

    private static String layerNorm(OnnxGraph g, BaseArrays base, String x, String gamma, String beta, int d) {
        return g.node("LayerNormalization", List.of(x, g.floats(gamma, base.params().get(gamma), d),
                g.floats(beta, base.params().get(beta), d)), i("axis", -1), f("epsilon", 1e-5f));
    }

    /** Exact GELU, as PyTorch's default: x / 2 (1 + erf(x / sqrt 2)). */
    private static String gelu(OnnxGraph g, String x) {
        String erf = g.node("Erf", g.node("Div", x, g.scalar("sqrt2", (float) Math.sqrt(2))));
        return g.node("Mul", g.node("Mul", x, g.scalar("half", 0.5f)), g.node("Add", erf, g.scalar("one_f", 1f)));
    }

    /** x W'^T + b with W' = W + (alpha / r) B A when the adapter has tensors for {@code name}. */
    private static String linear(OnnxGraph g, BaseArrays base, Map<String, float[]> lora, String x, String name) {
        float[] w = base.params().get(name + "_w");
        float[] b = base.params().get(name + "_b");
        int out = b.length;
        int in = w.length / out;
        float[] a = lora.get(name + "_" + RecLM.LORA + "_A");
        float[] bb = lora.get(name + "_" + RecLM.LORA + "_B");
        float[] wt = new float[in * out];   // (in, out): MatMul(x, W'^T)
        RecLMConfig cfg = base.config();
        int r = cfg.loraRank();
        double s = r == 0 ? 0 : cfg.loraAlpha() / r;
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++) {
                double val = w[o * in + c];
                if (a != null && bb != null) {
                    double up = 0;
                    for (int k = 0; k < r; k++) {
                        up += (double) bb[o * r + k] * a[k * in + c];
                    }
                    val += s * up;
                }
                wt[c * out + o] = (float) val;
            }
        }
        return g.node("Add", g.node("MatMul", x, g.floats(name + "_wt", wt, in, out)), g.floats(name + "_b", b, out));
    }
}
