package io.adaptrec.worker.model;

import java.util.List;

/**
 * One scoring interface for every engine: a batch of prompts in, candidate logits at each
 * prompt's answer slot out. {@link LanguageModel} builds the batches (length-sorted, right-padded,
 * truncated to maxLen) and turns logits into log-probabilities; an engine only runs the network.
 * Implementations: the PyTorch network itself ({@code LanguageModel}) and an exported graph on
 * ONNX Runtime ({@link OnnxRuntimeScorer}). Engines must be safe for concurrent calls.
 */
interface Scorer {

    /**
     * {@code n} rows of {@code t} token ids, row-major and right-padded; {@code answer[i]}: the
     * position of row i's answer slot (its last prompt token).
     */
    record Batch(int n, int t, long[] ids, long[] answer) {}

    /**
     * What to score: {@code tokens} item token ids, {@code width} per row (n x width);
     * {@code fresh}: items added after training, at (row, column), whose logit comes from their text
     * alone; {@code mask} (n x width): added to the logits before the softmax (0 or -1e30), null when unused.
     */
    record Ask(long[] tokens, int width, List<Fresh> fresh, float[] mask) {}

    /** A new item at (row, column) of an {@link Ask}. */
    record Fresh(int row, int col, NewItem item) {}

    /** {@code candLogits} (n x width); {@code itemLse} (n): log-sum-exp over every item's logit, when asked. */
    record Scores(float[] candLogits, float[] itemLse) {}

    Scores score(Batch batch, Ask ask, boolean wantItemLse);

    /** log-softmax of {@code logits + mask} over {@code [off, off + width)}, the first {@code keep} values. */
    static float[] logSoftmax(float[] logits, float[] mask, int off, int width, int keep) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < width; j++) {
            max = Math.max(max, logits[off + j] + (mask == null ? 0 : mask[off + j]));
        }
        double sum = 0;
        for (int j = 0; j < width; j++) {
            sum += Math.exp(logits[off + j] + (mask == null ? 0 : mask[off + j]) - max);
        }
        double lse = max + Math.log(sum);
        float[] out = new float[keep];
        for (int j = 0; j < keep; j++) {
            out[j] = (float) (logits[off + j] + (mask == null ? 0 : mask[off + j]) - lse);
        }
        return out;
    }

    /**
     * Replaces the logits of new items by text-only ones: logit = E . h + {@code meanBias}, E = {@link #newItemRow}
     * (a new item has no ID row and no popularity of its own yet).
     *
     * @param table the effective token table (V x D, row-major), whose word rows are plain word embeddings
     * @param textProj the text-vector projection (D x textDim, row-major), null for a model without one
     */
    static void newItemLogits(float[] logits, Ask ask, float[] hidden, int d, float meanBias, float[] table,
                              float[] textProj) {
        for (Fresh f : ask.fresh()) {
            float[] e = newItemRow(f.item(), table, d, textProj);
            double dot = 0;
            for (int k = 0; k < d; k++) {
                dot += e[k] * hidden[f.row() * d + k];
            }
            logits[f.row() * ask.width() + f.col()] = (float) dot + meanBias;
        }
    }

    /**
     * The text part of an item row, as {@link RecLM} builds it for a trained item: the mean of its word rows,
     * plus the projected text vector when the model has a projection and the item a vector.
     */
    static float[] newItemRow(NewItem item, float[] table, int d, float[] textProj) {
        float[] e = new float[d];
        int[] words = item.words();
        for (int w : words) {
            for (int k = 0; k < d; k++) {
                e[k] += table[w * d + k];
            }
        }
        for (int k = 0; words.length > 0 && k < d; k++) {
            e[k] /= words.length;
        }
        float[] v = item.textVector();
        if (textProj != null && v != null) {
            int td = v.length;
            for (int k = 0; k < d; k++) {
                double s = 0;
                for (int j = 0; j < td; j++) {
                    s += textProj[k * td + j] * v[j];
                }
                e[k] += (float) s;
            }
        }
        return e;
    }
}
