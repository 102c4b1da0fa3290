package io.adaptrec.worker.model;

import java.util.List;
import java.util.function.Function;

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
     * {@code fresh}: items added after training, as pairs (int[]{row, column}, word tokens), whose
     * logit comes from their text alone; {@code mask} (n x width): added to the logits before the
     * softmax (0 or -1e30), null when unused.
     */
    record Ask(long[] tokens, int width, List<int[]> fresh, float[] mask) {}

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
     * Replaces the logits of new items by text-only ones: E = mean(table rows of its words), logit
     * = E . h + {@code meanBias} (a new item has no ID row and no popularity of its own yet).
     * {@code rows} returns the table rows (W x D, row-major) of the given word tokens.
     */
    static void newItemLogits(float[] logits, Ask ask, float[] hidden, int d, float meanBias,
                              Function<int[], float[]> rows) {
        List<int[]> fresh = ask.fresh();
        for (int f = 0; f < fresh.size(); f += 2) {
            int row = fresh.get(f)[0];
            int col = fresh.get(f)[1];
            int[] words = fresh.get(f + 1);
            float[] w = rows.apply(words);
            double dot = 0;
            for (int k = 0; k < d; k++) {
                double e = 0;
                for (int x = 0; x < words.length; x++) {
                    e += w[x * d + k];
                }
                dot += e / words.length * hidden[row * d + k];
            }
            logits[row * ask.width() + col] = (float) dot + meanBias;
        }
    }
}
