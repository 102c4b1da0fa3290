package io.adaptrec.worker.model;

/**
 * Shape of a RecLM network. Validated once at construction so that a bad model directory or
 * command line fails with a message naming the key and its allowed range.
 *
 * @param dModel      width of the residual stream (8..1024, divisible by heads)
 * @param heads       attention heads (1..32)
 * @param layers      transformer blocks (1..24)
 * @param maxLen      longest token sequence, i.e. rows of the position table (16..4096)
 * @param dropout     dropout on attention weights and residual branches while training (0..0.9)
 * @param textAware   add the mean of an item's title/genre word embeddings to its ID embedding
 *                    (ARCHITECTURE.md section 6); false turns the network into a pure item-ID
 *                    sequence model, which is how the SASRec baseline reuses it
 * @param loraRank    rank r of the LoRA adapters (0 disables them) (0..256)
 * @param loraAlpha   LoRA scale numerator: the update is (alpha / r) * B A (> 0)
 * @param loraMlp     also adapt the two MLP projections, not only q, k, v, o
 * @param textDim     dimension of the items' pretrained text vectors ({@link ItemTextEncoder}), which a learned
 *                    projection adds to the item rows; 0 (the default) uses none (0..4096)
 */
public record RecLMConfig(int dModel, int heads, int layers, int maxLen, float dropout,
                          boolean textAware, int loraRank, float loraAlpha, boolean loraMlp, int textDim) {

    /** A configuration without pretrained text vectors. */
    public RecLMConfig(int dModel, int heads, int layers, int maxLen, float dropout,
                       boolean textAware, int loraRank, float loraAlpha, boolean loraMlp) {
        this(dModel, heads, layers, maxLen, dropout, textAware, loraRank, loraAlpha, loraMlp, 0);
    }

    public RecLMConfig {
        check("dModel", dModel, 8, 1024);
        check("heads", heads, 1, 32);
        check("layers", layers, 1, 24);
        check("maxLen", maxLen, 16, 4096);
        check("loraRank", loraRank, 0, 256);
        check("textDim", textDim, 0, 4096);
        if (textDim > 0 && !textAware) {
            throw new IllegalArgumentException("textDim " + textDim + " needs a text-aware model");
        }
        if (dModel % heads != 0) {
            throw new IllegalArgumentException(
                    "dModel (" + dModel + ") must be divisible by heads (" + heads + ")");
        }
        if (!(dropout >= 0f && dropout <= 0.9f)) {
            throw new IllegalArgumentException("dropout must be in [0, 0.9], got " + dropout);
        }
        if (!(loraAlpha > 0f)) {
            throw new IllegalArgumentException("loraAlpha must be > 0, got " + loraAlpha);
        }
    }

    /** Small enough to pre-train and fine-tune on MovieLens-100K in minutes on two CPU cores. */
    public static RecLMConfig small() {
        return new RecLMConfig(64, 2, 2, 256, 0.1f, true, 8, 16f, false);
    }

    public RecLMConfig withTextAware(boolean on) {
        return new RecLMConfig(dModel, heads, layers, maxLen, dropout, on, loraRank, loraAlpha, loraMlp, on ? textDim : 0);
    }

    public RecLMConfig withMaxLen(int len) {
        return new RecLMConfig(dModel, heads, layers, len, dropout, textAware, loraRank, loraAlpha, loraMlp, textDim);
    }

    public RecLMConfig withDropout(float p) {
        return new RecLMConfig(dModel, heads, layers, maxLen, p, textAware, loraRank, loraAlpha, loraMlp, textDim);
    }

    public RecLMConfig withTextDim(int dim) {
        return new RecLMConfig(dModel, heads, layers, maxLen, dropout, textAware, loraRank, loraAlpha, loraMlp, dim);
    }

    private static void check(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(
                    key + " must be in [" + min + ", " + max + "], got " + value);
        }
    }
}
